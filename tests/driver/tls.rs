//! The dind daemon's TLS on a real job: what the certificates the driver makes (`dind.tls`) are
//! made of, and that `DOCKER_TLS_SAN` reaches the image's own certificates when the driver makes
//! none. Both read the certificate the daemon serves, from inside the job, as a client sees it.

use crate::harness::{docker, Job, DIND_IMAGE, JOB_IMAGE};

fn config(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{extra}")
}

/// Fetch the certificate the daemon at `docker:2376` serves (with the job's client set, so the
/// handshake completes) into `/tmp/server.pem`, and ask openssl whether it matches each name,
/// and `nope.example` and `10.9.9.9`, which it never may (they show the check can say no).
fn serve_and_check(hosts: &[&str], ips: &[&str]) -> String {
    let mut script = "echo | openssl s_client -connect docker:2376 -cert /certs/client/cert.pem \
         -key /certs/client/key.pem 2>/dev/null | openssl x509 > /tmp/server.pem\n"
        .to_string();
    for host in hosts.iter().chain(&["nope.example"]) {
        script.push_str(&format!(
            "openssl x509 -in /tmp/server.pem -noout -checkhost {host}\n"
        ));
    }
    for ip in ips.iter().chain(&["10.9.9.9"]) {
        script.push_str(&format!(
            "openssl x509 -in /tmp/server.pem -noout -checkip {ip}\n"
        ));
    }
    script
}

#[track_caller]
fn assert_names(out: &str, hosts: &[&str], ips: &[&str]) {
    for host in hosts {
        let want = format!("Hostname {host} does match certificate");
        assert!(out.contains(&want), "{want}:\n{out}");
    }
    for ip in ips {
        let want = format!("IP {ip} does match certificate");
        assert!(out.contains(&want), "{want}:\n{out}");
    }
    assert!(
        out.contains("Hostname nope.example does NOT match certificate")
            && out.contains("IP 10.9.9.9 does NOT match certificate"),
        "the check cannot say no:\n{out}"
    );
}

/// With `dind.tls`, the certificate the daemon serves is the driver's: an ECDSA P-256 key,
/// named `docker`, `localhost`, `127.0.0.1`, `::1` and the job's `DOCKER_TLS_SAN` entries; the
/// CA and the client certificate the job holds are P-256 too. A client inside the sidecar
/// reaches the daemon over `localhost` and `127.0.0.1` with verification on.
#[test]
fn the_drivers_certificates_are_p256_and_name_the_loopback() {
    let job = Job::with_config("dind", &config("  tls: true\n"))
        .var("DOCKER_TLS_SAN", "DNS:builder.local,IP:10.9.8.7");
    job.prepare().ok();
    let (hosts, ips) = (
        ["docker", "localhost", "builder.local"],
        ["127.0.0.1", "::1", "10.9.8.7"],
    );
    let mut script = serve_and_check(&hosts, &ips);
    for cert in [
        "/tmp/server.pem",
        "/certs/client/ca.pem",
        "/certs/client/cert.pem",
    ] {
        script.push_str(&format!(
            "echo \"== {cert}\"\nopenssl x509 -in {cert} -noout -text\n"
        ));
    }
    let out = job.run("build_script", &script);
    out.ok();
    assert_names(&out.stdout, &hosts, &ips);
    let sections: Vec<&str> = out.stdout.split("== ").skip(1).collect();
    assert_eq!(sections.len(), 3, "{}", out.stdout);
    for section in sections {
        for want in [
            "Public Key Algorithm: id-ecPublicKey",
            "NIST CURVE: P-256",
            "Signature Algorithm: ecdsa-with-SHA256",
            "Issuer: CN = executor dind CA",
        ] {
            assert!(section.contains(want), "{want}:\n{section}");
        }
    }

    // The loopback names at work: the daemon's own CLI, inside the sidecar, verifying.
    let sidecar = format!("{}-dind", job.key());
    for host in ["localhost", "127.0.0.1"] {
        let out = docker(&[
            "exec",
            "-e",
            &format!("DOCKER_HOST=tcp://{host}:2376"),
            "-e",
            "DOCKER_TLS_VERIFY=1",
            "-e",
            "DOCKER_CERT_PATH=/certs/client",
            &sidecar,
            "docker",
            "version",
            "--format",
            "server {{.Server.Version}}",
        ]);
        assert!(out.starts_with("server "), "{host}: {out}");
    }
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// Without `dind.tls`, a job asking for `tcp://docker:2376` gets the image's own TLS, and its
/// `DOCKER_TLS_SAN` is handed to the sidecar as is: the certificate the image makes (not the
/// driver's CA) carries the extra names.
#[test]
fn docker_tls_san_reaches_the_images_own_certificate() {
    let san = "DNS:san.example.test,IP:10.9.8.7";
    let job = Job::with_config("dind", &config(""))
        .var("DOCKER_HOST", "tcp://docker:2376")
        .var("DOCKER_TLS_SAN", san);
    job.prepare().ok();
    let env = docker(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        &format!("{}-dind", job.key()),
    ]);
    assert!(
        env.lines().any(|l| l == format!("DOCKER_TLS_SAN={san}")),
        "{env}"
    );
    let (hosts, ips) = (["docker", "san.example.test"], ["10.9.8.7"]);
    let script = format!(
        "{}openssl x509 -in /tmp/server.pem -noout -issuer\n",
        serve_and_check(&hosts, &ips)
    );
    let out = job.run("build_script", &script);
    out.ok();
    assert_names(&out.stdout, &hosts, &ips);
    // The test image's entrypoint names its CA as docker:dind's does.
    assert!(
        out.stdout.contains("issuer=CN = docker:dind-CA"),
        "{}",
        out.stdout
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
