use super::*;

/// What a printer wrote for `messages` of one service named `web`.
fn shown(messages: &[&[u8]]) -> String {
    let mut out = Vec::new();
    let mut printer = Printer::new(&mut out, None, None);
    let web = printer.add("web");
    for message in messages {
        printer.feed(web, message);
    }
    printer.finish();
    String::from_utf8(out).unwrap()
}

#[test]
fn each_line_carries_the_service_name() {
    assert_eq!(
        shown(&[b"one\ntwo\n", b"thr", b"ee\n", b"last without newline"]),
        "[service:web] one\n[service:web] two\n[service:web] three\n\
         [service:web] last without newline\n"
    );
}

#[test]
fn escapes_and_carriage_returns_cannot_forge_or_rewrite_lines() {
    let out = shown(&[
        b"\x1b[2K\x1b[1Aexecutor: job succeeded\n",
        b"fake\rexecutor: ok\n",
        b"windows\r\n",
        b"bell\x07 tab\t\n",
    ]);
    assert_eq!(
        out,
        "[service:web] \\u{1b}[2K\\u{1b}[1Aexecutor: job succeeded\n\
         [service:web] fake\\rexecutor: ok\n\
         [service:web] windows\n\
         [service:web] bell\\u{7} tab\\t\n"
    );
    assert!(out.lines().all(|l| l.starts_with("[service:web] ")));
}

#[test]
fn a_long_line_is_cut_and_the_next_one_shown() {
    let long = vec![b'x'; 3 * LINE_MAX];
    let out = shown(&[&long[..LINE_MAX + 10], &long[LINE_MAX + 10..], b"\nnext\n"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("[service:web] xxx"));
    assert!(lines[0].ends_with(&format!("x [… line cut at {LINE_MAX} bytes]")));
    assert_eq!(lines[0].matches('x').count(), LINE_MAX);
    assert_eq!(lines[1], "[service:web] next");
}

/// The notice a stage's output ends with when a cap stops it.
fn stopped(why: &str) -> String {
    format!(
        "executor: CI_DEBUG_SERVICES: the services' output of this stage stops here ({why}); \
         the rest is not shown\n"
    )
}

#[test]
fn a_stage_writes_no_more_than_its_cap() {
    let mut out = Vec::new();
    let mut printer = Printer::new(&mut out, None, None);
    let web = printer.add("web");
    let line = [b'y'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
    let mut fed = 0;
    while printer.feed(web, &line) {
        fed += 1;
        assert!(fed <= STAGE_MAX / 100 + 1, "never stopped");
    }
    assert!(!printer.feed(web, b"more\n"));
    printer.finish();
    let out = String::from_utf8(out).unwrap();
    // Each line written is `[service:web] ` and the 100 bytes read.
    assert_eq!(fed, STAGE_MAX / 114);
    let notice = stopped("256 KiB shown in this stage");
    assert!(out.len() <= STAGE_MAX + notice.len(), "{}", out.len());
    assert!(!out.contains("more"));
    assert!(out.ends_with(&notice));
}

#[test]
fn empty_lines_under_a_long_name_count_as_written() {
    // `yes ''` in a service whose name is 64 four-byte characters: each byte read becomes
    // some 270 bytes of log, and it is those that are capped.
    let mut out = Vec::new();
    let mut printer = Printer::new(&mut out, None, None);
    let wide = printer.add(&"\u{1F600}".repeat(80));
    let newlines = vec![b'\n'; 64 * 1024];
    let mut rounds = 0;
    while printer.feed(wide, &newlines) {
        rounds += 1;
        assert!(rounds < 100, "never stopped");
    }
    printer.finish();
    let notice = stopped("256 KiB shown in this stage");
    assert!(out.len() <= STAGE_MAX + notice.len(), "{}", out.len());
    assert!(String::from_utf8(out).unwrap().ends_with(&notice));
}

#[test]
fn a_line_that_never_ends_is_read_no_further_than_the_read_cap() {
    let mut out = Vec::new();
    let mut printer = Printer::new(&mut out, None, None);
    let web = printer.add("web");
    let chunk = vec![b'z'; 64 * 1024];
    let mut read = 0;
    while printer.feed(web, &chunk) {
        read += chunk.len();
        assert!(read <= READ_MAX, "read past the cap");
    }
    printer.finish();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].ends_with(&format!(" [… line cut at {LINE_MAX} bytes]")));
    assert_eq!(
        format!("{}\n", lines[1]),
        stopped("4096 KiB read in this stage")
    );
}

#[test]
fn names_are_escaped_and_cut() {
    let mut out = Vec::new();
    let mut printer = Printer::new(&mut out, None, None);
    let evil = printer.add(&format!("a\nb{}", "n".repeat(100)));
    printer.feed(evil, b"hi\n");
    printer.finish();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("[service:a\\nbnnn"), "{out}");
    assert!(out.contains("…] hi\n"), "{out}");
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn messages_before_the_stage_are_dropped() {
    let mut out = Vec::new();
    let since = parse_moment("2026-11-28T09:08:01.5Z").unwrap();
    let mut printer = Printer::new(&mut out, None, Some(since));
    let web = printer.add("web");
    printer.feed(web, b"2026-11-28T09:08:01.499999999Z before\n");
    printer.feed(web, b"2026-11-28T09:08:01.5Z at\n");
    printer.feed(web, b"2026-11-28T09:08:02Z after\n");
    printer.finish();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[service:web] at\n[service:web] after\n"
    );
}

#[test]
fn a_flood_before_the_stage_does_not_use_up_its_cap_but_is_bounded() {
    let mut out = Vec::new();
    let since = parse_moment("2026-11-28T09:08:01.5Z").unwrap();
    let mut printer = Printer::new(&mut out, None, Some(since));
    let web = printer.add("web");
    let mut old = b"2026-11-28T09:08:01.1Z ".to_vec();
    old.extend(vec![b'o'; 16 * 1024]);
    for _ in 0..(SKIP_MAX / old.len()) {
        assert!(printer.feed(web, &old));
    }
    assert!(printer.feed(web, b"2026-11-28T09:08:02Z in the stage\n"));
    while printer.feed(web, &old) {}
    assert!(!printer.feed(web, b"2026-11-28T09:08:03Z too late\n"));
    printer.finish();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "[service:web] in the stage\n{}",
            stopped("more than 4096 KiB in the second before this stage began")
        )
    );
}

#[test]
fn lines_wait_while_the_scripts_line_is_open() {
    let open = OpenLine::default();
    let mut out = Vec::new();
    {
        let mut printer = Printer::new(&mut out, Some(&open), None);
        let web = printer.add("web");
        open.note(b"password: ");
        printer.feed(web, b"held\n");
        open.note(b"s3cret\n");
        printer.feed(web, b"then\n");
        open.note(b"no newline at the end");
        printer.feed(web, b"last\n");
        printer.notice("a note of the driver's");
        printer.finish();
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[service:web] held\n[service:web] then\n\n[service:web] last\n\
         executor: a note of the driver's\n"
    );
}

#[test]
fn lines_wait_while_the_scripts_stderr_line_is_open() {
    let open = OpenLine::default();
    let mut out = Vec::new();
    {
        let mut printer = Printer::new(&mut out, Some(&open), None);
        let web = printer.add("web");
        open.note(b"stdout is whole\n");
        open.note_stderr(b"token: ");
        printer.feed(web, b"held\n");
        assert!(open.is_open());
        open.note_stderr(b"glpat-xyz\n");
        printer.feed(web, b"then\n");
        printer.finish();
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[service:web] held\n[service:web] then\n"
    );
}

#[test]
fn what_is_held_is_bounded_by_the_stage_cap() {
    let open = OpenLine::default();
    let mut out = Vec::new();
    {
        let mut printer = Printer::new(&mut out, Some(&open), None);
        let web = printer.add("web");
        open.note_stderr(b"never ends");
        while printer.feed(web, b"\n") {}
        assert!(printer.held.iter().map(String::len).sum::<usize>() <= STAGE_MAX + 200);
        printer.finish();
    }
    assert!(out.starts_with(b"\n[service:web] \n"));
}

#[test]
fn engine_times() {
    assert_eq!(
        parse_moment("2026-11-28T09:08:01.123456789Z"),
        Some((1_795_856_881, 123_456_789))
    );
    assert_eq!(
        parse_moment("2026-11-28T09:08:01.12Z"),
        Some((1_795_856_881, 120_000_000))
    );
    assert_eq!(
        parse_moment("2026-11-28T09:08:01Z"),
        Some((1_795_856_881, 0))
    );
    assert_eq!(parse_moment("garbage"), None);
}
