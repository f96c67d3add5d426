#!/usr/bin/env bash
# Checks that clients in other languages work against Offcloud's Lambda Invoke API: the AWS CLI, then boto3.
#
# Usage: scripts/lambda-clients-check.sh http://127.0.0.1:4566
# Needs the seed functions (fixtures/offcloud.toml). Exits non-zero on the first mismatch.
set -euo pipefail

endpoint=${1:?usage: $0 ENDPOINT_URL}
export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() { echo "lambda-clients-check: $*" >&2; exit 1; }

echo "AWS CLI against $endpoint"
# AWS CLI v1 sends --payload as it is; v2 needs --cli-binary-format raw-in-base64-out for the same.
binary_format=()
aws --version 2>&1 | grep -q '^aws-cli/2' && binary_format=(--cli-binary-format raw-in-base64-out)
meta=$(aws lambda invoke --endpoint-url "$endpoint" --function-name epoch-time "${binary_format[@]}" \
  --payload '{}' --output json "$out")
grep -q '"StatusCode": 200' <<<"$meta" || fail "aws lambda invoke printed $meta"
grep -q '"statusCode": *200' "$out" || fail "epoch-time answered $(cat "$out")"
grep -q 'The current epoch time' "$out" || fail "epoch-time answered $(cat "$out")"
meta=$(aws lambda invoke --endpoint-url "$endpoint" --function-name server-status "${binary_format[@]}" \
  --payload '{"error": "missing"}' --output json "$out")
grep -q '"FunctionError": "Unhandled"' <<<"$meta" || fail "a failed invoke printed $meta"
grep -q 'NoSuchResource' "$out" || fail "server-status answered $(cat "$out")"
if aws lambda invoke --endpoint-url "$endpoint" --function-name no-such-function "$out" 2>"$out.err"; then
  fail "invoking an unknown function succeeded"
fi
grep -q ResourceNotFoundException "$out.err" || fail "expected ResourceNotFoundException: $(cat "$out.err")"
rm -f "$out.err"

echo "boto3 against $endpoint"
python3 - "$endpoint" <<'PY'
import base64
import json
import sys

import boto3

client = boto3.client("lambda", endpoint_url=sys.argv[1])
r = client.invoke(FunctionName="epoch-time", Payload=b"{}", LogType="Tail")
assert r["StatusCode"] == 200, r
body = json.loads(r["Payload"].read())
assert body["statusCode"] == 200, body
log = base64.b64decode(r["LogResult"]).decode()
assert "START RequestId: " in log and "REPORT RequestId: " in log, log
r = client.invoke(FunctionName="server-status", Payload=json.dumps({"error": "forbidden"}))
assert r.get("FunctionError") == "Unhandled", r
assert json.loads(r["Payload"].read())["errorMessage"].startswith("IllegalAccess"), r
r = client.invoke(FunctionName="epoch-time", InvocationType="Event", Payload=b"{}")
assert r["StatusCode"] == 202, r
try:
    client.invoke(FunctionName="no-such-function", Payload=b"{}")
    raise AssertionError("invoking an unknown function succeeded")
except client.exceptions.ResourceNotFoundException:
    pass
PY
echo "lambda-clients-check: ok"
