//! Clients in other languages, through the scripts in `scripts/`: the AWS CLI and boto3 (Python), which
//! `.ci/run` installs from PyPI. They prove that the wire works for more than the Rust SDK.

use std::process::Command;

use crate::support::{Builder, workspace};

/// Runs `scripts/NAME` against the emulator's main endpoint and fails with its output.
fn run_script(name: &str, endpoint: &str) {
    let out = Command::new("bash")
        .arg(workspace().join("scripts").join(name))
        .arg(endpoint)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} failed (are the AWS CLI and boto3 installed? `python3 -m pip install awscli boto3`, as .ci/run does)\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_and_boto3_invoke_functions() {
    let h = Builder::seeds().start().await;
    let endpoint = h.emulator.endpoint_url();
    tokio::task::spawn_blocking(move || run_script("lambda-clients-check.sh", &endpoint))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_and_boto3_use_dynamodb() {
    let h = Builder::new("").start().await;
    let endpoint = h.emulator.endpoint_url();
    tokio::task::spawn_blocking(move || run_script("dynamodb-clients-check.sh", &endpoint))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_and_boto3_use_the_data_api() {
    let h = Builder::seeds().start().await;
    let endpoint = h.emulator.endpoint_url();
    tokio::task::spawn_blocking(move || run_script("rdsdata-clients-check.sh", &endpoint))
        .await
        .unwrap();
}
