//! `container:`: values as gitlab-runner's `[runners.docker]` writes them are read, and every
//! bad one is a one-line error naming the key, the line, the entry and what to write.

use super::*;

fn parse(text: &str) -> Result<Settings, String> {
    Settings::from_text(text, "test.yaml").map_err(|e| e.to_string())
}

#[test]
fn docker_executor_values_carry_over() {
    let s = parse(
        "container:\n  volumes: [\"/srv/data:/data:ro\", \"tools:/opt/tools\", \"/srv//x/:/x/:rshared\"]\n  \
         devices: [\"/dev/fuse\", \"/dev/null:/dev/nothing:r\", \"/dev/zero:rw\"]\n  gpus: all\n  \
         extra_hosts: [\"registry.internal:10.1.2.3\", \"gw:host-gateway\", \"v6:fd00::1\"]\n  \
         dns: [10.0.0.53]\n  dns_search: [corp.example]\n  cap_add: [sys_ptrace]\n  \
         cap_drop: [CAP_NET_RAW, ALL]\n  security_opt: [\"seccomp:unconfined\", no-new-privileges, \"label=disable\"]\n  \
         sysctls:\n    net.ipv4.ip_forward: 1\n  tmpfs:\n    /scratch: rw,size=64m\n    /empty:\n  \
         userns_mode: host\n  runtime: runc\n",
    )
    .unwrap();
    let c = &s.container;
    assert_eq!(c.volumes[0].bind(), "/srv/data:/data:ro");
    assert!(c.volumes[0].read_only());
    assert_eq!(c.volumes[1].source, VolumeSource::Named("tools".into()));
    assert_eq!(
        c.volumes[2].bind(),
        "/srv/x:/x:rshared",
        "paths written plainly"
    );
    let devices: Vec<(&str, &str, &str)> = c
        .devices
        .iter()
        .map(|d| {
            (
                d.host.as_str(),
                d.container.as_str(),
                d.permissions.as_str(),
            )
        })
        .collect();
    assert_eq!(
        devices,
        [
            ("/dev/fuse", "/dev/fuse", "rwm"),
            ("/dev/null", "/dev/nothing", "r"),
            ("/dev/zero", "/dev/zero", "rw")
        ]
    );
    assert_eq!(c.gpus.as_ref().unwrap().count, Some(-1));
    assert_eq!(c.extra_hosts.len(), 3);
    assert_eq!(
        (c.dns[0].as_str(), c.dns_search[0].as_str()),
        ("10.0.0.53", "corp.example")
    );
    assert_eq!(
        (c.cap_add.clone(), c.cap_drop.clone()),
        (
            vec!["SYS_PTRACE".into()],
            vec!["NET_RAW".into(), "ALL".into()]
        )
    );
    let opts: Vec<&str> = c.security_opt.iter().map(|o| o.engine.as_str()).collect();
    assert_eq!(
        opts,
        ["seccomp=unconfined", "no-new-privileges", "label=disable"]
    );
    assert_eq!(
        c.sysctls["net.ipv4.ip_forward"], "1",
        "a number needs no quotes"
    );
    assert_eq!(
        (c.tmpfs["/scratch"].as_str(), c.tmpfs["/empty"].as_str()),
        ("rw,size=64m", "")
    );
    assert_eq!(c.userns_mode.as_deref(), Some("host"));
    assert_eq!(s.container_runtime.as_deref(), Some("runc"));
    assert_eq!(parse("").unwrap().container, ContainerOptions::default());
}

#[test]
fn a_seccomp_profile_is_read_from_this_host_and_sent_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.json");
    std::fs::write(&path, "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n").unwrap();
    let text = format!(
        "container:\n  security_opt: [\"seccomp={}\"]\n",
        path.display()
    );
    let opt = &parse(&text).unwrap().container.security_opt[0];
    assert_eq!(opt.shown, format!("seccomp={}", path.display()));
    assert_eq!(opt.engine, "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
    std::fs::write(&path, "not json").unwrap();
    let e = parse(&text).unwrap_err();
    assert!(e.contains("is not a seccomp profile"), "{e}");
    let e = parse("container:\n  security_opt: [seccomp=/nonexistent/p.json]\n").unwrap_err();
    assert!(e.contains("cannot be read (No such file"), "{e}");
}

/// Each bad value: the key and line, then what is wrong and what to write, on one line.
/// A host path that only says what it reaches once resolved: a link to `/run` (the engine's
/// socket under it) or to `/var/lib/docker` is refused by what it resolves to.
#[test]
fn a_link_to_a_refused_host_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("runlink");
    let data = dir.path().join("datalink");
    std::os::unix::fs::symlink("/run", &run).unwrap();
    std::os::unix::fs::symlink("/var/lib/docker", &data).unwrap();
    for (link, want) in [
        (
            &run,
            "resolves to /run, which would give jobs the engine socket /run/docker.sock",
        ),
        (
            &data,
            "resolves to /var/lib/docker, which binds /var/lib/docker, the engine's data",
        ),
    ] {
        let text = format!("container:\n  volumes: [\"{}:/x\"]\n", link.display());
        let error = Settings::from_text(&text, "t").unwrap_err().to_string();
        assert!(error.contains(want), "{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let text = format!("container:\n  volumes: [\"{}:/x\"]\n", plain.display());
    assert!(Settings::from_text(&text, "t").is_ok());
}

#[test]
fn bad_values_are_one_line_naming_the_key_and_the_fix() {
    let cases = [
        ("volumes: [/cache]", "container.volumes at line 3: `/cache` names no source; write /host/dir:/cache"),
        ("volumes: [\"data\"]", "container.volumes at line 3: `data` is not source:target[:options]"),
        ("volumes: [\"./d:/d\"]", "the source `./d` is neither an absolute host path nor a volume name"),
        ("volumes: [\"/d:d\"]", "`/d:d`: the target `d` is not an absolute path"),
        ("volumes: [\"/d:/x/../builds\"]", "has . or .. in it; write the path plainly"),
        ("volumes: [\"/var/run/docker.sock:/s\"]", "would give jobs the engine socket /var/run/docker.sock, which is root on the host; offer socket mode instead"),
        ("volumes: [\"/var/run:/r:ro\"]", "socket /var/run/docker.sock"),
        ("volumes: [\"/run/containerd:/c\"]", "socket /run/containerd/containerd.sock"),
        ("volumes: [\"/:/host:ro\"]", "socket /var/run/docker.sock"),
        ("volumes: [\"/var/lib/executor:/b\"]", "binds a directory that holds /var/lib/executor/builds, other socket jobs' checkouts; bind a directory outside it"),
        ("volumes: [\"/var/lib/docker/volumes:/v\"]", "lies inside /var/lib/docker, the engine's data"),
        ("volumes: [\"/run/docker/containerd:/c:ro\"]", "lies inside /run/docker, the engine's runtime state (its containerd socket"),
        ("volumes: [\"/var/run/docker:/c:ro\"]", "binds /var/run/docker, the engine's runtime state"),
        ("volumes: [\"/proc/1/root/srv:/h\"]", "lies inside /proc, the kernel's view of the host; bind a plain directory"),
        ("volumes: [\"/proc:/p:ro\"]", "binds /proc, the kernel's view of the host"),
        ("volumes: [\"/sys/fs/cgroup:/c\"]", "lies inside /sys, the kernel's view"),
        ("volumes: [\"/dev:/hostdev\"]", "binds /dev, the kernel's view of the host; bind a plain directory (devices go in container.devices)"),
        ("volumes: [\"shm:/dev/shm\"]", "/dev/shm is /dev/shm, each container's own scratch space (stage scripts and their secrets live there), which a shared volume must not cover"),
        ("volumes: [\"/srv/t:/tmp\"]", "/tmp is /tmp, each container's own scratch space"),
        ("volumes: [\"/srv/d:/dev\"]", "/dev holds /dev/shm"),
        ("volumes: [\"/srv/t:/tmp/x\"]", "/tmp/x lies inside /tmp"),
        ("volumes: [\"/d:/builds\"]", "the target /builds is where the driver mounts the job's builds (builds_dir); pick a path outside it"),
        ("volumes: [\"/d:/cache/x\"]", "the target /cache/x lies inside /cache, where the driver mounts the project's cache (cache_dir)"),
        ("volumes: [\"/d:/certs\"]", "the target /certs holds /certs/client, where the driver mounts the dind client certificates"),
        ("volumes: [\"/d:/var/run\"]", "holds /var/run/dind"),
        ("volumes: [\"executor-r1-p2-c3-cache:/c\"]", "named like the driver's own"),
        ("volumes: [\"/d:/d:ro,rw\"]", "give ro or rw, not both"),
        ("volumes: [\"v1:/d:rshared\"]", "the option `rshared` is not one of"),
        ("volumes: [\"/d:/d\", \"v1:/d\"]", "/d is mounted twice"),
        ("tmpfs: {/builds: \"\"}", "container.tmpfs at line 3: the target /builds is where"),
        ("tmpfs: {/s: \"size=1m;rm -rf\"}", "/s: `size=1m;rm -rf` is not a list of mount options"),
        ("devices: [\"dev/fuse\"]", "container.devices at line 3: `dev/fuse` is not /dev/host[:/dev/in-container[:permissions]]"),
        ("devices: [\"/dev/fuse:/dev/fuse:rwx\"]", "permissions from rwm"),
        ("gpus: some", "container.gpus at line 3: `some` has a count that is not all or a number"),
        ("extra_hosts: [\"host 1.2.3.4\"]", "is not host:address"),
        ("extra_hosts: [\"host:999.1.1.1\"]", "is not host:address"),
        ("dns: [dns.example]", "container.dns at line 3: `dns.example` is not an IP address"),
        ("dns_search: [\"a b\"]", "`a b` is not a domain name"),
        ("cap_add: [NET_RWA]", "container.cap_add at line 3: `NET_RWA` is not a Linux capability"),
        ("cap_add: [NET_RAW]\n  cap_drop: [cap_net_raw]", "container.cap_drop at line 4: NET_RAW is in both cap_add and cap_drop"),
        ("security_opt: [seccomp=default.json]", "names no profile; write seccomp=unconfined or seccomp=/path"),
        ("security_opt: [selinux=off]", "is not a security option"),
        ("security_opt: [no-new-privileges=yes]", "has a value the engine does not take"),
        ("sysctls: {kernel.panic: 1}", "container.sysctls at line 3: `kernel.panic` is not a sysctl a container may set"),
        ("sysctls: {net.core.somaxconn: \"\"}", "net.core.somaxconn needs a value"),
        ("userns_mode: private", "container.userns_mode at line 3: `private` is not a user namespace mode; write host"),
        ("runtime: \"my runtime\"", "container.runtime at line 3: `my runtime` is not a runtime name"),
        ("runtimes: runc", "unknown field `runtimes`"),
        ("volumes: [\"/d\\n:/x\"]", "`/d\\n` holds a character no mount path may"),
    ];
    for (yaml, want) in cases {
        let e = parse(&format!("image: x\ncontainer:\n  {yaml}\n")).unwrap_err();
        assert!(e.contains(want), "{yaml}:\n  got  {e}\n  want {want}");
        assert!(
            !e.contains('\n') && e.starts_with("config test.yaml: "),
            "{e}"
        );
    }
}

/// The driver's own targets move with the settings that place them.
#[test]
fn the_driver_paths_follow_the_settings() {
    let moved =
        "builds_dir: /b\ncache_dir: /c\ncontainer:\n  volumes: [\"/d:/builds\", \"/e:/cache\"]\n";
    assert!(parse(moved).is_ok());
    let runner = "helper:\n  mode: job\n  runner_binary: /usr/bin/gitlab-runner\n";
    let e = parse(&format!(
        "{runner}container:\n  volumes: [\"/d:/usr/local/bin\"]\n"
    ))
    .unwrap_err();
    assert!(e.contains("holds /usr/local/bin/gitlab-runner"), "{e}");
    assert!(parse("container:\n  volumes: [\"/d:/usr/local/bin\"]\n").is_ok());
    let socket = "socket:\n  host_path: /srv/engine/docker.sock\ncontainer:\n  volumes: [\"/srv/engine:/e\"]\n";
    assert!(parse(socket)
        .unwrap_err()
        .contains("socket /srv/engine/docker.sock"));
    let engine = "docker:\n  host: unix:///run/user/1000/docker.sock\ncontainer:\n  volumes: [\"/run/user:/u\"]\n";
    assert!(parse(engine)
        .unwrap_err()
        .contains("socket /run/user/1000/docker.sock"));
}
