#!/usr/bin/env bash
# Checks that clients in other languages work against Offcloud's RDS Data API: the AWS CLI, then boto3.
#
# Usage: scripts/rdsdata-clients-check.sh http://127.0.0.1:4566
# Needs the seed cluster (fixtures/offcloud.toml). Exits non-zero on the first mismatch. Each run uses fresh
# instance ids, so it can be repeated on one emulator.
set -euo pipefail

endpoint=${1:?usage: $0 ENDPOINT_URL}
export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
cluster=arn:aws:rds:us-east-1:123456789012:cluster:ec2-inventory
secret=arn:aws:secretsmanager:us-east-1:123456789012:secret:ec2-inventory-admin
id="cli-$$-$(date +%s)"

fail() { echo "rdsdata-clients-check: $*" >&2; exit 1; }

echo "AWS CLI against $endpoint"
aws rds-data execute-statement --endpoint-url "$endpoint" --resource-arn "$cluster" --secret-arn "$secret" \
  --database ec2_inventory_db --output json \
  --sql "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES (:id, 'us-east-1', '123456789012')" \
  --parameters "[{\"name\": \"id\", \"value\": {\"stringValue\": \"$id\"}}]" >/dev/null
got=$(aws rds-data execute-statement --endpoint-url "$endpoint" --resource-arn "$cluster" --secret-arn "$secret" \
  --database ec2_inventory_db --output text --query 'records[0][0].stringValue' \
  --sql "SELECT aws_region FROM ec2 WHERE aws_instance_id = :id" \
  --parameters "[{\"name\": \"id\", \"value\": {\"stringValue\": \"$id\"}}]")
[ "$got" = "us-east-1" ] || fail "aws rds-data execute-statement returned $got, expected us-east-1"
if aws rds-data execute-statement --endpoint-url "$endpoint" --resource-arn "$cluster" --secret-arn "$secret" \
  --database ec2_inventory_db \
  --sql "INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES ('$id', 'x', 'y')" 2>/tmp/rds-check-err.$$; then
  fail "a duplicate insert succeeded"
fi
grep -q "BadRequestException" /tmp/rds-check-err.$$ || fail "expected BadRequestException: $(cat /tmp/rds-check-err.$$)"
grep -q "Duplicate entry '$id' for key 'PRIMARY'" /tmp/rds-check-err.$$ || fail "expected MySQL's duplicate entry: $(cat /tmp/rds-check-err.$$)"
rm -f /tmp/rds-check-err.$$

echo "boto3 against $endpoint"
python3 - "$endpoint" "$cluster" "$secret" "boto3-$id" <<'PY'
import sys

import boto3
from botocore.exceptions import ClientError

endpoint, cluster, secret, instance = sys.argv[1:5]
rds = boto3.client("rds-data", endpoint_url=endpoint)
common = {"resourceArn": cluster, "secretArn": secret, "database": "ec2_inventory_db"}
tx = rds.begin_transaction(**common)["transactionId"]
rds.execute_statement(
    sql="INSERT INTO ec2 (aws_instance_id, aws_region, aws_account) VALUES (:id, 'eu-west-1', '1')",
    parameters=[{"name": "id", "value": {"stringValue": instance}}],
    transactionId=tx,
    **common,
)
out = rds.execute_statement(
    sql="INSERT INTO package (aws_instance_id, package_name, package_version) VALUES (:id, 'p', 'v1')",
    parameters=[{"name": "id", "value": {"stringValue": instance}}],
    transactionId=tx,
    **common,
)
assert out["numberOfRecordsUpdated"] == 1, out
assert out["generatedFields"][0]["longValue"] > 0, out
status = rds.commit_transaction(resourceArn=cluster, secretArn=secret, transactionId=tx)
assert status["transactionStatus"] == "Transaction Committed", status
out = rds.execute_statement(
    sql="SELECT e.aws_region, p.package_name, e.creation_date_utc FROM ec2 e JOIN package p "
    "ON p.aws_instance_id = e.aws_instance_id WHERE e.aws_instance_id = :id",
    parameters=[{"name": "id", "value": {"stringValue": instance}}],
    includeResultMetadata=True,
    **common,
)
row = out["records"][0]
assert row[0] == {"stringValue": "eu-west-1"} and row[1] == {"stringValue": "p"}, out
assert row[2]["stringValue"].endswith(".0"), row
assert [c["name"] for c in out["columnMetadata"]] == ["aws_region", "package_name", "creation_date_utc"], out
try:
    rds.commit_transaction(resourceArn=cluster, secretArn=secret, transactionId=tx)
    raise AssertionError("a finished transaction committed twice")
except ClientError as e:
    assert e.response["Error"]["Code"] == "TransactionNotFoundException", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
out = rds.execute_statement(
    sql="SELECT aws_instance_id, aws_region FROM ec2 WHERE aws_instance_id = :id",
    parameters=[{"name": "id", "value": {"stringValue": instance}}],
    formatRecordsAs="JSON",
    **common,
)
assert out["formattedRecords"] == '[{"aws_instance_id":"%s","aws_region":"eu-west-1"}]' % instance, out
# The seed's own call: the deprecated ExecuteSql.
out = rds.execute_sql(
    dbClusterOrInstanceArn=cluster,
    awsSecretStoreArn=secret,
    database="ec2_inventory_db",
    sqlStatements="SELECT aws_region FROM ec2 WHERE aws_instance_id = '%s'" % instance,
)
frame = out["sqlStatementResults"][0]["resultFrame"]
assert frame["records"][0]["values"][0] == {"stringValue": "eu-west-1"}, out
PY
echo "rdsdata-clients-check: ok"
