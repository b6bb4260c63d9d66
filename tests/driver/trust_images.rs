//! The trust boundary, continued: a hostile job image. One carrying executor's own labels, one
//! planting a socket where the driver talks to the dind daemon, one whose configuration is
//! megabytes of labels; each is refused or answered within bounds, the driver's memory too.

use crate::harness::{build_image, docker, Job, BUSYBOX_IMAGE, JOB_IMAGE};

/// Docker copies an image's labels onto its containers: an image carrying executor's own
/// labels is refused, as the job's image and as a service, before anything is created.
#[test]
fn images_carrying_executors_labels_are_refused() {
    let image = "executor-test/labelled:1";
    let dockerfile =
        format!("FROM {BUSYBOX_IMAGE}\nLABEL io.executor.warm-key=executor-r900-c0-wforged\n");
    build_image(image, &dockerfile, &[]);

    let as_job = Job::new("none").var("CI_JOB_IMAGE", image);
    let call = as_job.prepare();
    call.expect(1);
    let line = "image `executor-test/labelled:1` carries the label `io.executor.warm-key`, which only executor sets";
    assert!(call.stderr.contains(line), "{}", call.stderr);
    as_job.cleanup().ok();
    as_job.assert_nothing_left();

    let as_service = Job::new("none").payload_services(&format!(r#"[{{"name": "{image}"}}]"#), &[]);
    let call = as_service.prepare();
    call.expect(1);
    assert!(call.stderr.contains(line), "{}", call.stderr);
    as_service.cleanup().ok();
    as_service.assert_nothing_left();
    docker(&["rmi", image]);
}

/// Peak resident memory (VmHWM, KiB) of a running process, sampled until it exits.
fn peak_of(mut child: std::process::Child) -> (Option<i32>, u64) {
    let mut peak = 0;
    let started = std::time::Instant::now();
    loop {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
        if let Some(kib) = status.ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        }) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), peak);
        }
        if started.elapsed() > std::time::Duration::from_secs(120) || peak > 512 * 1024 {
            let _ = child.kill();
            let _ = child.wait();
            return (None, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// What a hostile job image's shell does at container start (the keep-alive runs it): bind a
/// socket in the shared dind socket volume before the sidecar's daemon does, and answer the
/// driver's ping with an endless body (an unbounded reader grew the driver past 1 GiB).
const PLANT_SOCKET: &str = r#"use strict; use IO::Socket::UNIX; use Socket;
my $path = "/var/run/dind/docker.sock";
for (1..500) { last if -d "/var/run/dind"; select(undef,undef,undef,0.01); }
unlink $path;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 16) or exit 0;
$SIG{CHLD} = 'IGNORE';
my $chunk = "x" x (1024*1024);
while (my $c = $srv->accept) {
  next if fork();
  while (<$c>) { last if $_ eq "\r\n"; }
  print $c "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n";
  while (print $c $chunk) {}
  exit 0;
}
"#;
const PLANTING_SH: &str =
    "#!/bin/dash\nif [ \"$$\" = 1 ]; then perl /plant.pl >/dev/null 2>&1 & fi\nexec /bin/dash \"$@\"\n";

/// The job mounts the socket volume read-only, so the plant fails, and the driver's ping reads
/// a bounded answer whatever answers there.
#[test]
fn a_planted_dind_socket_cannot_answer_for_the_daemon() {
    let image = "executor-test/plants-socket:1";
    let dockerfile = format!(
        "FROM {JOB_IMAGE}\nCOPY plant.pl /plant.pl\nCOPY sh /bin/sh.new\n\
         RUN chmod +x /bin/sh.new && ln -sf /bin/sh.new /bin/sh\n"
    );
    build_image(
        image,
        &dockerfile,
        &[("plant.pl", PLANT_SOCKET), ("sh", PLANTING_SH)],
    );
    // With the image's own TLS the daemon spends seconds on keys before it binds.
    let job = Job::new("dind")
        .var("CI_JOB_IMAGE", image)
        .var("DOCKER_TLS_CERTDIR", "/certs");
    let (code, peak) = peak_of(job.spawn(&["prepare"]));
    assert_eq!(code, Some(0), "prepare did not succeed");
    assert!(peak < 64 * 1024, "peak {peak} KiB");
    let out = job.run(
        "build_script",
        "touch /var/run/dind/planted 2>/dev/null && echo writable || echo read-only\n\
         docker info --format 'daemon {{.Name}}'",
    );
    out.ok();
    assert!(out.stdout.contains("read-only\ndaemon "), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
    docker(&["rmi", image]);
}

/// An image whose configuration carries 48 MiB of ordinary labels, loaded from a `docker save`
/// of the busybox test image with its config rewritten (no registry needed).
fn big_label_image(name: &str) {
    use std::io::{Read, Write};
    let saved = std::process::Command::new("docker")
        .args(["save", BUSYBOX_IMAGE])
        .output()
        .unwrap()
        .stdout;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in tar::Archive::new(saved.as_slice()).entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            files.push((path, bytes));
        }
    }
    let manifest = &files.iter().find(|(p, _)| p == "manifest.json").unwrap().1;
    let mut manifest: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    let config_name = manifest[0]["Config"].as_str().unwrap().to_string();
    let config = &files.iter().find(|(p, _)| *p == config_name).unwrap().1;
    let mut config: serde_json::Value = serde_json::from_slice(config).unwrap();
    let labels: serde_json::Map<String, serde_json::Value> = (0..48)
        .map(|i| (format!("big{i}"), "y".repeat(1 << 20).into()))
        .collect();
    config["config"]["Labels"] = labels.into();
    manifest[0]["Config"] = "big.json".into();
    manifest[0]["RepoTags"] = serde_json::json!([name]);
    let mut out = tar::Builder::new(Vec::new());
    let mut add = |path: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, path, bytes).unwrap();
    };
    for (path, bytes) in &files {
        if !["manifest.json", "repositories", config_name.as_str()].contains(&path.as_str()) {
            add(path, bytes);
        }
    }
    add("big.json", &serde_json::to_vec(&config).unwrap());
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    let mut load = std::process::Command::new("docker")
        .args(["load", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tarball = out.into_inner().unwrap();
    load.stdin.take().unwrap().write_all(&tarball).unwrap();
    assert!(load.wait().unwrap().success());
}

/// The engine's answer about an image is its author's: an image with 48 MiB of labels is
/// refused from a bounded read (an unbounded one cost the driver 113 MB), and nothing is made.
#[test]
fn an_image_with_megabytes_of_labels_is_refused_from_a_bounded_read() {
    let image = "executor-test/big-labels:1";
    big_label_image(image);
    let job = Job::new("none").var("CI_JOB_IMAGE", image);
    let mut child = job.spawn(&["prepare"]);
    let stderr = child.stderr.take().unwrap();
    let (code, peak) = peak_of(child);
    let stderr = std::io::read_to_string(stderr).unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(peak < 64 * 1024, "peak {peak} KiB");
    assert!(
        stderr.contains(
            "image executor-test/big-labels:1 has a configuration (labels, environment, ...) \
             larger than 1024 KiB"
        ),
        "{stderr}"
    );
    let (code, peak) = peak_of(job.spawn(&["cleanup"]));
    assert_eq!(code, Some(0));
    assert!(peak < 64 * 1024, "cleanup peak {peak} KiB");
    job.assert_nothing_left();
    docker(&["rmi", image]);
}
