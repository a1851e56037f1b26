//! Hostile guests: every one is contained with a clear error while the host
//! keeps processing the rest of the batch; forbidden imports are refused at
//! load; the compile cache is used.

use sluice_tests::{guest, host, host_with_env};

fn errors_by_line(run: &sluice_tests::Run) -> Vec<(u64, String)> {
    run.errors()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["error"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn infinite_loop_hits_the_deadline_and_the_rest_go_on() {
    let run = host(
        &["test", "-p", guest("hostile"), "--deadline-ms", "100"],
        "a\nb\nloop\nc\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), ["\"a\"", "\"b\"", "\"c\""]);
    assert_eq!(
        errors_by_line(&run),
        [(
            3,
            "plugin \"hostile\" trapped: deadline of 100 ms exceeded (raise it with --deadline-ms)"
                .to_string()
        )]
    );
}

#[test]
fn allocation_bomb_hits_the_memory_limit_and_the_rest_go_on() {
    let run = host(
        &["test", "-p", guest("hostile"), "--memory-limit", "16MiB"],
        "a\nalloc\nb\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), ["\"a\"", "\"b\""]);
    assert_eq!(
        errors_by_line(&run),
        [(2, "plugin \"hostile\" trapped: memory limit of 16 MiB exceeded (raise it with --memory-limit)".to_string())]
    );
}

#[test]
fn output_explosions_and_invalid_outputs_fail_only_their_record() {
    for (value, error) in [
        // One record → a million outputs, and one record → a 1 GiB value.
        (
            "explode",
            "plugin \"hostile\" trapped: memory limit of 64 MiB exceeded (raise it with --memory-limit)",
        ),
        (
            "huge",
            "plugin \"hostile\" trapped: memory limit of 64 MiB exceeded (raise it with --memory-limit)",
        ),
        // An output pointing at an input that does not exist is validated, never trusted.
        (
            "bad_input",
            "plugin \"hostile\" trapped: returned an invalid batch: output record 0 claims to come from input 6 but the batch had 1 records",
        ),
    ] {
        let run = host(
            &["test", "-p", guest("hostile")],
            &format!("a\n{value}\nb\n"),
        );
        assert_eq!(run.code, 0, "{value}: {}", run.stderr);
        assert_eq!(run.lines(), ["\"a\"", "\"b\""], "{value}");
        assert_eq!(errors_by_line(&run), [(2, error.to_string())], "{value}");
    }
}

#[test]
fn a_slow_but_correct_plugin_meets_the_deadline_by_smaller_batches_and_loses_nothing() {
    // Each record takes the slow plugin 30 ms of the host's clock, on any machine: eight in
    // one call (240 ms) exceed the 100 ms deadline, so the batch is split until every call
    // fits. Unsplit, the calls would trap and the records be rejected.
    let run = host(
        &[
            "test",
            "-p",
            guest("slow"),
            "--grant",
            "slow=clocks",
            "--deadline-ms",
            "100",
            "--batch-size",
            "8",
        ],
        &(0..8).map(|i| format!("r{i}\n")).collect::<String>(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let want: Vec<String> = (0..8).map(|i| format!("\"r{i}\"")).collect();
    assert_eq!(run.lines(), want, "every record, in order");
    assert!(run.errors().is_empty(), "{}", run.stderr);
}

#[test]
fn an_infinite_loop_in_init_is_stopped_by_the_deadline() {
    let run = host(
        &[
            "test",
            "-p",
            guest("hostile"),
            "--config",
            "hostile.init=loop",
            "--deadline-ms",
            "200",
        ],
        "a\n",
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "error: plugin \"hostile\" trapped in init: deadline of 200 ms exceeded (raise it with --deadline-ms)"
    );
}

#[test]
fn panic_on_one_record_fails_only_that_record() {
    let input: String = (0..300)
        .map(|i| {
            if i == 137 {
                "panic\n".to_string()
            } else {
                format!("r{i}\n")
            }
        })
        .collect();
    let run = host(&["test", "-p", guest("hostile")], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected: Vec<String> = (0..300)
        .filter(|i| *i != 137)
        .map(|i| format!("\"r{i}\""))
        .collect();
    assert_eq!(run.lines(), expected, "every other record, in order");
    let errors = errors_by_line(&run);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 138);
    // The guest's panic message (captured from its stderr) is in the error.
    assert!(
        errors[0]
            .1
            .starts_with("plugin \"hostile\" trapped: panicked"),
        "{}",
        errors[0].1
    );
    assert!(
        errors[0].1.contains("boom on record 137"),
        "{}",
        errors[0].1
    );
}

#[test]
fn stack_overflow_is_contained() {
    let run = host(&["test", "-p", guest("hostile")], "a\nrecurse\nb\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), ["\"a\"", "\"b\""]);
    let errors = errors_by_line(&run);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].1.starts_with("plugin \"hostile\" trapped: "),
        "{errors:?}"
    );
}

#[test]
fn reading_a_file_is_refused_at_load() {
    let run = host(&["test", "-p", guest("reads_file")], "x\n");
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .starts_with("error: plugin \"reads_file\" is refused: it imports "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("wasi:filesystem/types@0.2.6"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("which would give it the filesystem"),
        "{}",
        run.stderr
    );
}

#[test]
fn reading_arguments_is_refused_at_load() {
    let run = host(&["test", "-p", guest("reads_args")], "x\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("wasi:cli/environment@0.2.6 (get-arguments)"),
        "{}",
        run.stderr
    );
}

#[test]
fn environment_variables_never_reach_a_plugin() {
    let run = host_with_env(
        &["test", "-p", guest("reads_env")],
        b"x\n",
        &[("HOME", "/home/secret"), ("API_TOKEN", "hunter2")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), ["\"vars=0 HOME=<unset>\""]);
}

#[test]
fn clocks_are_for_generators_or_granted() {
    // The inspect of a transform lists its grants: none by default.
    let run = host(&["inspect", "parse_stock"], "");
    assert!(run.stdout.contains("grants:      none\n"), "{}", run.stdout);
    let run = host(&["inspect", "stock_generator"], "");
    assert!(
        run.stdout.contains("grants:      clocks, random\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("wasi:clocks/wall-clock@0.2.6#now"),
        "{}",
        run.stdout
    );
    let run = host(
        &["inspect", "parse_stock", "--grant", "parse_stock=clocks"],
        "",
    );
    assert!(
        run.stdout.contains("grants:      clocks\n"),
        "{}",
        run.stdout
    );
    let run = host(
        &["inspect", "parse_stock", "--grant", "parse_stock=network"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown grant \"network\"; grantable: clocks, random"),
        "{}",
        run.stderr
    );
}

#[test]
fn compiled_plugins_are_cached_by_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let first = host(&["inspect", "schema_filter", "--cache-dir", dir_arg], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .stdout
            .contains("cache:       miss, compiled and stored at "),
        "{}",
        first.stdout
    );
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().to_string_lossy().into_owned();
    let sha = first
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sha256:      "))
        .unwrap();
    assert!(name.starts_with(sha) && name.ends_with(".cwasm"), "{name}");
    let second = host(&["inspect", "schema_filter", "--cache-dir", dir_arg], "");
    assert!(
        second
            .stdout
            .contains(&format!("cache:       hit {}", files[0].path().display())),
        "{}",
        second.stdout
    );
    let off = host(&["inspect", "schema_filter", "--no-cache"], "");
    assert!(off.stdout.contains("cache:       off"), "{}", off.stdout);
}

#[test]
fn a_plugin_built_for_an_older_contract_is_refused_with_the_fix() {
    let run = host(&["test", "-p", guest("old_contract")], "x\n");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "was built for sluice:plugin@0.1.0, but this host speaks sluice:plugin@0.2.0; rebuild it with the 0.2.0 SDK"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn inspect_shows_a_refused_plugins_imports_beside_the_refusal() {
    let run = host(&["inspect", guest("reads_file")], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stdout
            .contains("plugin:      reads_file (refused)\nimports:\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("denied: the filesystem"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .starts_with("error: plugin \"reads_file\" is refused: it imports "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_plugin_that_fans_out_is_run_in_parts_and_one_record_over_the_bound_is_rejected() {
    // 100,000 outputs per record (about 8.4 MiB in the host): holding at most 16 MiB of one
    // call's output, the host processes the batch in parts; every output comes out.
    let run = host(
        &[
            "test",
            "-p",
            guest("hostile"),
            "--max-output-bytes",
            "16MiB",
            "--batch-size",
            "64",
        ],
        &"fanout\n".repeat(8),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.errors().is_empty(), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 800_000);
    // One record whose output alone is over the bound is that record's error.
    let run = host(
        &["test", "-p", guest("hostile"), "--max-output-bytes", "1MiB"],
        "a\nfanout\nb\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), ["\"a\"", "\"b\""]);
    let errors = errors_by_line(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 2);
    let message = &errors[0].1;
    assert!(
        message.starts_with("plugin \"hostile\" returned "),
        "{message}"
    );
    assert!(
        message.ends_with("for 1 record(s), more than the host holds of one call (1.0 MiB); raise it with --max-output-bytes"),
        "{message}"
    );
}

/// The peak resident memory (VmHWM, from /proc) of `host ARGS` reading
/// `stdin`, its output thrown away.
fn peak_rss(args: &[&str], stdin: String) -> u64 {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(sluice_tests::host_bin())
        .args(args)
        .env("SLUICE_CACHE_DIR", sluice_tests::cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "host {args:?} ran for 300 s"
        );
        let hwm = std::fs::read_to_string(&status).unwrap_or_default();
        let kib = hwm
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        peak = peak.max(kib.unwrap_or(0) << 10);
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    writer.join().unwrap().unwrap();
    assert!(exit.success(), "host {args:?}: {exit}");
    peak
}

#[test]
fn the_hosts_memory_under_a_100000_fold_fan_out_is_bounded_by_max_output_bytes() {
    // Each "fanout" record makes 100,000 outputs (8.4 MiB in the host); 20 of them are 168 MiB
    // of output. The host holds at most --max-output-bytes of one call's output, plus the
    // plugin's own memory (--memory-limit, 64 MiB by default) beside it.
    let baseline = peak_rss(&["test", "-p", guest("hostile")], "a\n".repeat(20));
    for limit_mib in [16u64, 64] {
        let limit = format!("{limit_mib}MiB");
        let args = ["test", "-p", guest("hostile"), "--max-output-bytes", &limit];
        let peak = peak_rss(&args, "fanout\n".repeat(20));
        let bound = baseline + (64 << 20) + 2 * (limit_mib << 20);
        eprintln!(
            "--max-output-bytes {limit}: peak RSS {} MiB (baseline {} MiB, bound {} MiB)",
            peak >> 20,
            baseline >> 20,
            bound >> 20
        );
        assert!(
            peak <= bound,
            "{} MiB over the bound {} MiB",
            peak >> 20,
            bound >> 20
        );
    }
}

#[test]
fn a_socket_is_refused_at_load_whatever_is_granted_and_a_clock_needs_its_grant() {
    for grants in [&[][..], &["--grant", "opens_socket=clocks,random"]] {
        let args = [&["test", "-p", guest("opens_socket")], grants].concat();
        let run = host(&args, "x\n");
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr
                .starts_with("error: plugin \"opens_socket\" is refused: it imports "),
            "{}",
            run.stderr
        );
        // (Rust's std brings the filesystem and clocks along with its sockets.)
        assert!(
            run.stderr.contains("; wasi:sockets/tcp@0.2.6 (")
                && run.stderr.contains("[method]tcp-socket.start-connect")
                && run.stderr.contains("), which would give it the network;"),
            "{}",
            run.stderr
        );
        let granted = !grants.is_empty();
        assert_eq!(
            run.stderr.contains("needs the clocks grant"),
            !granted,
            "{}",
            run.stderr
        );
    }
    let run = host(&["test", "-p", guest("reads_clock")], "x\n");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with(
            "error: plugin \"reads_clock\" is refused: it imports wasi:clocks/monotonic-clock@0.2.6 (now), \
             which needs the clocks grant (give it with --grant reads_clock=clocks); \
             wasi:clocks/wall-clock@0.2.6 (now), which needs the clocks grant"
        ),
        "{}",
        run.stderr
    );
    // Granted, it reads the host's clock.
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let before = now();
    let args = [
        "test",
        "-p",
        guest("reads_clock"),
        "--grant",
        "reads_clock=clocks",
    ];
    let run = host(&args, "x\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read: u64 = run.stdout.trim().parse().expect(&run.stdout);
    assert!((before..=now()).contains(&read), "{read}");
}
