//! `offcloud scenario record` against a live target, here an `offcloud serve` on loopback: the stage in the target
//! or not, the goldens' recorded origin, the summary of steps not recorded, and a missing `--aws-endpoint`.

use std::path::{Path, PathBuf};
use std::process::Output;

use offcloud::scenario::golden::{self, Origin};

use crate::support::{TempDir, build_handlers, offcloud_bin, workspace};

fn cli(args: &[&str]) -> Output {
    std::process::Command::new(offcloud_bin())
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A copy of the epoch-time scenario in its own folder. Its HTTP API step (`/v2/time`) is left out for a target
/// with a stage: on AWS an HTTP API has its own host and no stage in its paths.
fn epoch_time_copy(dir: &Path, with_http_api: bool) -> PathBuf {
    let mut text =
        std::fs::read_to_string(workspace().join("scenarios/epoch-time/get-time.toml")).unwrap();
    if !with_http_api {
        let step = "[[step]]\nname = \"http-api\"\nhttp = { method = \"GET\", path = \"/v2/time\" }\n\
                    redact = [{ path = \"body.The current epoch time\", as = \"epoch_s\" }]\n\n";
        assert!(text.contains(step), "the epoch-time scenario changed");
        text = text.replace(step, "");
    }
    let file = dir.join("get-time.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn snap(dir: &Path, step: &str) -> PathBuf {
    dir.join(format!("snapshots/get-time__{step}.snap"))
}

/// insta reads a recorded golden as the cargo test does, header included, and finds its content equal.
fn insta_accepts(dir: &Path, step: &str) {
    let value = golden::read(&snap(dir, step)).expect("a golden");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.remove_snapshot_suffix();
    settings.bind(|| insta::assert_json_snapshot!(format!("get-time__{step}"), value));
}

#[test]
fn record_with_the_stage_in_the_target_or_not() {
    build_handlers();
    let live = crate::process::serve(&workspace().join("fixtures/offcloud.toml"), &[]);
    let api = live.api.clone().expect("an API port");
    let aws = format!("http://{}", live.main);

    // With the stage and no AWS endpoint: `/Prod/time` is not sent to `/Prod/Prod/time` (a 403), and the two
    // `invoke` steps are listed as not recorded.
    let dir = TempDir::new("record-stage");
    let file = epoch_time_copy(&dir.0, false);
    let target = format!("http://{api}/Prod/");
    let out = cli(&[
        "scenario",
        "record",
        "--target",
        &target,
        file.to_str().unwrap(),
    ]);
    let stdout = text(&out);
    assert!(out.status.success(), "{stdout}");
    for step in ["rest-with-stage", "rest"] {
        let v = golden::read(&snap(&dir.0, step)).unwrap();
        assert_eq!(v["status"], 200, "{step}: {v}");
        assert_eq!(v["body"]["The current epoch time"], "[epoch_s]", "{v}");
        assert_eq!(
            golden::read_origin(&snap(&dir.0, step)).unwrap(),
            Some(Origin::Recorded { host: api.clone() })
        );
        insta_accepts(&dir.0, step);
    }
    assert!(
        stdout.contains("Not recorded: 2 steps")
            && stdout.contains("get-time.toml seed-curl: an `invoke` step")
            && stdout.contains("get-time.toml direct-invoke-event-file: an `invoke` step")
            && stdout.contains("no --aws-endpoint was given")
            && stdout.contains("3 recorded, 0 failed, 2 not recorded"),
        "{stdout}"
    );
    assert!(!snap(&dir.0, "seed-curl").exists());
    let out = cli(&["scenario", "list", dir.0.to_str().unwrap()]);
    let listing = text(&out);
    assert!(out.status.success(), "{listing}");
    let row = |kind: &str, host: &str, step: &str| {
        listing.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() == 3
                && cols[0] == kind
                && cols[1] == host
                && cols[2].ends_with(&format!("get-time__{step}.snap"))
        })
    };
    assert!(row("recorded", &api, "rest-with-stage"), "{listing}");
    assert!(row("missing", "-", "seed-curl"), "{listing}");
    assert!(
        listing.contains(&format!(
            "3 recorded (from {api}), 0 emulated, 2 missing, 0 unreadable"
        )),
        "{listing}"
    );

    // Without the stage, and with the AWS endpoint: every step is recorded, each from the host it went to, and
    // the goldens replay offline.
    let dir = TempDir::new("record-nostage");
    let file = epoch_time_copy(&dir.0, true);
    let target = format!("http://{api}");
    let out = cli(&[
        "scenario",
        "record",
        "--target",
        &target,
        "--aws-endpoint",
        &aws,
        file.to_str().unwrap(),
    ]);
    let stdout = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("6 recorded, 0 failed, 0 not recorded") && !stdout.contains("Not recorded"),
        "{stdout}"
    );
    let v = golden::read(&snap(&dir.0, "rest-with-stage")).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(
        golden::read_origin(&snap(&dir.0, "rest-with-stage")).unwrap(),
        Some(Origin::Recorded { host: api.clone() })
    );
    assert_eq!(
        golden::read_origin(&snap(&dir.0, "seed-curl")).unwrap(),
        Some(Origin::Recorded {
            host: live.main.clone()
        })
    );
    insta_accepts(&dir.0, "seed-curl");
    let out = cli(&["scenario", "run", file.to_str().unwrap()]);
    let stdout = text(&out);
    assert!(
        out.status.success() && stdout.contains("6 passed, 0 failed"),
        "{stdout}"
    );
}

#[test]
fn a_needed_aws_endpoint_stops_the_recording_before_anything_is_sent() {
    build_handlers();
    let dir = TempDir::new("record-needs-aws");
    let setup = dir.0.join("setup.toml");
    std::fs::write(
        &setup,
        r#"name = "seeded-read"
purpose = "Reads an item that the setup writes through DynamoDB."

[[setup]]
service = "dynamodb"
operation = "PutItem"
body = { TableName = "lambda-apigateway", Item = { id = { S = "rec-1" }, name = { S = "Ada" } } }

[[step]]
name = "read"
http = { method = "POST", path = "/Prod/DynamoDBManager", json = { operation = "read", tableName = "lambda-apigateway", payload = { Key = { id = "rec-1" } } } }
redact = [{ path = "body.ResponseMetadata.RequestId", as = "any" }]
"#,
    )
    .unwrap();
    let write = dir.0.join("write.toml");
    std::fs::write(
        &write,
        "name = \"w\"\npurpose = \"p\"\n\n[[step]]\nname = \"delete-it\"\n\
         aws = { service = \"dynamodb\", operation = \"DeleteItem\", body = { TableName = \"lambda-apigateway\" } }\n",
    )
    .unwrap();

    // Nothing listens on this port: the check comes before any request.
    let out = cli(&[
        "scenario",
        "record",
        "--target",
        "http://127.0.0.1:9/Prod",
        dir.0.to_str().unwrap(),
    ]);
    let stderr = text(&out);
    assert!(!out.status.success(), "{stderr}");
    let setup_line = format!(
        "{}:4: the setup ([[setup]] dynamodb PutItem, 1 of 1 calls), made before every step, needs an AWS \
         endpoint, and none was given: pass --aws-endpoint URL",
        setup.display()
    );
    let write_line = format!(
        "{}:4: step \"delete-it\" (dynamodb DeleteItem), which may change what later steps read, needs an AWS \
         endpoint, and none was given: pass --aws-endpoint URL",
        write.display()
    );
    assert!(
        stderr.contains("nothing was recorded")
            && stderr.contains(&setup_line)
            && stderr.contains(&write_line),
        "{stderr}"
    );
    assert!(!dir.0.join("snapshots").exists());

    // With the endpoint, the setup call goes there, and the step reads what it wrote.
    let live = crate::process::serve(&workspace().join("fixtures/offcloud.toml"), &[]);
    let api = live.api.clone().expect("an API port");
    let out = cli(&[
        "scenario",
        "record",
        "--target",
        &format!("http://{api}/Prod"),
        "--aws-endpoint",
        &format!("http://{}", live.main),
        setup.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let path = dir.0.join("snapshots/setup__read.snap");
    let v = golden::read(&path).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["body"]["Item"]["name"], "Ada", "{v}");
    assert_eq!(
        golden::read_origin(&path).unwrap(),
        Some(Origin::Recorded { host: api })
    );
}

#[test]
fn a_bad_target_is_an_error() {
    for (args, want) in [
        (
            vec!["--target", "abc.example.com/Prod"],
            "--target: \"abc.example.com/Prod\" is not an http:// or https:// URL",
        ),
        (
            vec!["--target", "http://127.0.0.1:9", "--aws-endpoint", "x"],
            "--aws-endpoint: \"x\" is not an http:// or https:// URL",
        ),
    ] {
        let mut all = vec!["scenario", "record"];
        all.extend(args);
        all.push("scenarios/epoch-time");
        let out = cli(&all);
        assert!(!out.status.success());
        assert!(text(&out).contains(want), "{}", text(&out));
    }
}
