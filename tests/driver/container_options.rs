//! The admin's `container:` options on the real engine: each one is in `docker inspect` of the
//! job container and acts inside it, the helper, services and sidecar get only what
//! `src/plan/options.rs` gives them, a job's variables add nothing, and a named volume outlives
//! the job (the admin's data) until the test removes it. Each test uses a project of its own,
//! so the `cache_dir` volume the driver keeps per project is the test's to remove too.

use std::process::Command;

use serde_json::Value;

use crate::harness::{Bounded, Job, ALL_MODES, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE};
use crate::own_job::{capability, cleaned_up, inspect, own_job, strings, OwnJob};

fn base(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}{extra}")
}

const NET_RAW: u32 = 13;
const SYS_PTRACE: u32 = 19;

#[test]
fn each_option_is_on_the_job_container_and_acts_in_it() {
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("hello"), "from the host\n").unwrap();
    let named = format!("t-opts-{}-data", std::process::id());
    let config = base(&format!(
        "container:\n  volumes: [\"{named}:/srv/named\", \"{}:/srv/host:ro\"]\n  \
         devices: [/dev/fuse, \"/dev/null:/dev/executor-null:r\"]\n  \
         extra_hosts: [\"registry.internal:10.1.2.3\"]\n  dns: [10.0.0.53]\n  \
         dns_search: [corp.example]\n  cap_add: [SYS_PTRACE]\n  cap_drop: [NET_RAW]\n  \
         security_opt: [no-new-privileges]\n  sysctls:\n    net.ipv4.ip_unprivileged_port_start: 0\n  \
         tmpfs:\n    /scratch: rw,size=16m\n  userns_mode: host\n  runtime: runc\n",
        host_dir.path().display()
    ));
    let job = OwnJob::new(own_job("none", &config, 1), &[&named]);
    job.prepare().ok();

    let host = &inspect(&job.container())["HostConfig"];
    assert_eq!(host["Tmpfs"]["/scratch"], "rw,size=16m");
    assert_eq!(strings(&host["ExtraHosts"]), ["registry.internal:10.1.2.3"]);
    assert_eq!(strings(&host["Dns"]), ["10.0.0.53"]);
    assert_eq!(strings(&host["DnsSearch"]), ["corp.example"]);
    assert_eq!(strings(&host["CapAdd"]), ["CAP_SYS_PTRACE"]);
    assert_eq!(strings(&host["CapDrop"]), ["CAP_NET_RAW"]);
    assert_eq!(strings(&host["SecurityOpt"]), ["no-new-privileges"]);
    assert_eq!(host["Sysctls"]["net.ipv4.ip_unprivileged_port_start"], "0");
    assert_eq!(host["Runtime"], "runc");
    assert_eq!(host["UsernsMode"], "host");
    assert_eq!(host["Privileged"], false);
    let devices: Vec<String> = host["Devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}>{}:{}",
                d["PathOnHost"].as_str().unwrap(),
                d["PathInContainer"].as_str().unwrap(),
                d["CgroupPermissions"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        devices,
        ["/dev/fuse>/dev/fuse:rwm", "/dev/null>/dev/executor-null:r"]
    );
    let mounts = inspect(&job.container())["Mounts"].clone();
    let mount = |target: &str| {
        mounts
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["Destination"] == target)
            .cloned()
            .unwrap_or_else(|| panic!("no mount at {target}: {mounts}"))
    };
    assert_eq!(
        (
            mount("/srv/named")["Type"].clone(),
            mount("/srv/named")["Name"].clone()
        ),
        ("volume".into(), Value::from(named.as_str()))
    );
    assert_eq!(
        (
            mount("/srv/host")["Type"].clone(),
            mount("/srv/host")["RW"].clone()
        ),
        ("bind".into(), false.into())
    );

    let out = job.run(
        "build_script",
        "grep registry.internal /etc/hosts; grep -E '^(search|nameserver)' /etc/resolv.conf; \
         test -c /dev/fuse && test -c /dev/executor-null && echo devices-there; \
         grep ' /scratch tmpfs ' /proc/mounts; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; \
         echo port-start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start); \
         cat /srv/host/hello; echo from-the-job > /srv/named/note; \
         touch /srv/host/new 2>/dev/null || echo host-dir-read-only",
    );
    out.ok();
    let s = &out.stdout;
    for want in [
        "10.1.2.3\tregistry.internal",
        "search corp.example",
        "devices-there",
        "tmpfs rw,",
        "NoNewPrivs:\t1",
        "port-start=0",
        "from the host",
        "host-dir-read-only",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
    assert!(
        !capability(s, "CapBnd", NET_RAW) && capability(s, "CapBnd", SYS_PTRACE),
        "{s}"
    );

    // The helper: the same volumes (read-only) and names, none of the job's grants or
    // restrictions.
    let helper = inspect(&format!("{}-helper", job.key()));
    assert_eq!(
        strings(&helper["HostConfig"]["ExtraHosts"]),
        ["registry.internal:10.1.2.3"]
    );
    for key in ["CapAdd", "CapDrop", "SecurityOpt", "Tmpfs", "Sysctls"] {
        assert!(
            helper["HostConfig"][key].is_null(),
            "helper {key}: {}",
            helper["HostConfig"][key]
        );
    }
    assert_ne!(helper["HostConfig"]["Runtime"], "runc");
    // Read-only there: the root helper runs programs, and a volume every job can write must
    // not let one project's job plant what another project's helper runs.
    let seen = job.run(
        "get_sources",
        "cat /srv/named/note; grep -c registry.internal /etc/hosts; \
         touch /srv/named/planted 2>/dev/null || echo helper-cannot-write",
    );
    seen.ok();
    assert!(
        seen.stdout.contains("from-the-job\n1\nhelper-cannot-write"),
        "{}",
        seen.stdout
    );

    cleaned_up(job, &[&named]);
}

/// Variables named like the options, or like gitlab-runner's own settings, change nothing:
/// the admin's one option stays as it is, and nothing is added.
#[test]
fn a_job_variable_adds_or_widens_nothing() {
    let config = base("container:\n  cap_drop: [NET_RAW]\n");
    let mut job = own_job("none", &config, 2);
    for (name, value) in [
        ("EXECUTOR_CONFIG", "/tmp/evil.yaml"),
        ("CONTAINER_VOLUMES", "/:/host"),
        ("DOCKER_VOLUMES", "/var/run/docker.sock:/s"),
        ("CAP_ADD", "ALL"),
        ("EXECUTOR_CAP_ADD", "NET_RAW"),
        ("DOCKER_CAP_ADD", "SYS_ADMIN"),
        ("DOCKER_DEVICES", "/dev/fuse"),
        ("DOCKER_TMPFS", "/scratch"),
        ("EXTRA_HOSTS", "evil:6.6.6.6"),
        ("SECURITY_OPT", "seccomp=unconfined"),
        ("DOCKER_RUNTIME", "runc"),
        ("DOCKER_PRIVILEGED", "true"),
    ] {
        job = job.var(name, value);
    }
    job.payload
        .variables
        .push(r#"{"key": "CAP_ADD", "value": "ALL", "public": true, "masked": false}"#.into());
    let job = OwnJob::new(job, &[]);
    job.prepare().ok();
    let host = &inspect(&job.container())["HostConfig"];
    assert_eq!(strings(&host["CapDrop"]), ["CAP_NET_RAW"]);
    for key in [
        "CapAdd",
        "Devices",
        "Tmpfs",
        "ExtraHosts",
        "SecurityOpt",
        "Sysctls",
    ] {
        let value = &host[key];
        let empty = value.is_null()
            || value.as_array().is_some_and(Vec::is_empty)
            || value.as_object().is_some_and(|m| m.is_empty());
        assert!(empty, "{key}: {}", host[key]);
    }
    assert_eq!(host["Privileged"], false);
    assert_ne!(host["Runtime"], "runc");
    let binds = strings(&host["Binds"]);
    assert!(binds.is_empty(), "{binds:?}");
    let out = job.run("build_script", "grep -E '^CapBnd' /proc/self/status");
    out.ok();
    assert!(
        !capability(&out.stdout, "CapBnd", NET_RAW),
        "{}",
        out.stdout
    );
    cleaned_up(job, &[]);
}

/// In dind mode the sidecar and a service resolve names as the job does, and the sidecar keeps
/// the driver's setup: privileged, with no admin volume, capability or runtime.
#[test]
fn services_and_the_sidecar_get_name_resolution_only() {
    let host_dir = tempfile::tempdir().unwrap();
    let config = base(&format!(
        "container:\n  volumes: [\"{}:/srv/host\"]\n  extra_hosts: [\"registry.internal:10.1.2.3\"]\n  \
         dns_search: [corp.example]\n  cap_drop: [NET_RAW]\n  runtime: runc\n",
        host_dir.path().display()
    ));
    let services = format!(r#"[{{"name":"{BUSYBOX_IMAGE}","command":["sleep","600"]}}]"#);
    let job = own_job("dind", &config, 3).payload_services(&services, &[]);
    let job = OwnJob::new(job, &[]);
    job.prepare().ok();
    for (name, role) in [
        (format!("{}-dind", job.key()), "sidecar"),
        (format!("{}-svc0", job.key()), "service"),
    ] {
        let host = &inspect(&name)["HostConfig"];
        assert_eq!(
            strings(&host["ExtraHosts"]),
            ["registry.internal:10.1.2.3"],
            "{role}"
        );
        assert_eq!(strings(&host["DnsSearch"]), ["corp.example"], "{role}");
        assert!(host["CapDrop"].is_null(), "{role}: {}", host["CapDrop"]);
        assert_ne!(host["Runtime"], "runc", "{role}");
        let binds = strings(&host["Binds"]);
        assert!(
            !binds.iter().any(|b| b.contains("/srv/host")),
            "{role}: {binds:?}"
        );
        assert_eq!(host["Privileged"], role == "sidecar", "{role}");
    }
    let job_host = &inspect(&job.container())["HostConfig"];
    assert_eq!(strings(&job_host["CapDrop"]), ["CAP_NET_RAW"]);
    job.run("build_script", "docker info >/dev/null && echo daemon-ok")
        .ok();
    cleaned_up(job, &[]);
}

/// Both dry runs, the runner's `prepare --dry-run` and a person's `executor run --dry-run`,
/// show the options on the job container without asking an engine (none exists at this host).
#[test]
fn both_dry_runs_show_the_options_without_an_engine() {
    let config = "docker:\n  host: unix:///nonexistent/docker.sock\ncontainer:\n  \
                  volumes: [\"ci-tools:/opt/tools:ro\"]\n  devices: [/dev/fuse]\n  \
                  extra_hosts: [\"registry.internal:10.1.2.3\"]\n  cap_drop: [NET_RAW]\n  \
                  tmpfs: {/scratch: size=16m}\n";
    let want = [
        "  mount: volume ci-tools at /opt/tools, read-only (container.volumes; the engine makes it, no cleanup removes it)\n",
        "  device: /dev/fuse at /dev/fuse (rwm)\n",
        "  extra hosts: registry.internal:10.1.2.3\n",
        "  cap drop: NET_RAW\n",
        "  tmpfs: /scratch (size=16m)\n",
    ];
    let job = Job::with_config("none", config);
    let call = job.call(&["prepare", "--dry-run"]);
    call.ok();
    let job_part = call.stdout.split("(job)\n").nth(1).unwrap_or_default();
    for line in want {
        assert!(
            job_part.contains(line),
            "{line:?} missing:\n{}",
            call.stdout
        );
    }
    job.assert_nothing_left();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".gitlab-ci.yml"),
        "t:\n  script: [\"true\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("executor.yaml"), config).unwrap();
    let git = Command::new("git")
        .args(["init", "-q", "."])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(git.success());
    let out = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["run", "t", "--dry-run", "--mode", "none"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EXECUTOR_CONFIG", dir.path().join("executor.yaml"))
        .bounded_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job_part = stdout.split("(job)\n").nth(1).unwrap_or_default();
    for line in want {
        assert!(job_part.contains(line), "{line:?} missing:\n{stdout}");
    }
}
