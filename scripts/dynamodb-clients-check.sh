#!/usr/bin/env bash
# Checks that clients in other languages work against Offcloud's DynamoDB endpoint: the AWS CLI, then boto3.
#
# Usage: scripts/dynamodb-clients-check.sh http://127.0.0.1:4566
# Exits non-zero on the first mismatch. Each run uses fresh table names, so it can be repeated on one emulator.
set -euo pipefail

endpoint=${1:?usage: $0 ENDPOINT_URL}
export AWS_ACCESS_KEY_ID=AKIDLOCAL AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
suffix="$$-$(date +%s)"
cli_table="cli-check-$suffix"
py_table="boto3-check-$suffix"

fail() { echo "dynamodb-clients-check: $*" >&2; exit 1; }

echo "AWS CLI against $endpoint"
aws dynamodb create-table --endpoint-url "$endpoint" --table-name "$cli_table" \
  --attribute-definitions AttributeName=id,AttributeType=S --key-schema AttributeName=id,KeyType=HASH \
  --billing-mode PAY_PER_REQUEST --output json >/dev/null
aws dynamodb put-item --endpoint-url "$endpoint" --table-name "$cli_table" \
  --item '{"id": {"S": "1"}, "name": {"S": "Bob"}, "n": {"N": "5"}}'
got=$(aws dynamodb get-item --endpoint-url "$endpoint" --table-name "$cli_table" \
  --key '{"id": {"S": "1"}}' --query 'Item.name.S' --output text)
[ "$got" = "Bob" ] || fail "aws get-item returned name=$got, expected Bob"
if aws dynamodb put-item --endpoint-url "$endpoint" --table-name "$cli_table" \
  --item '{"id": {"S": "1"}}' --condition-expression 'attribute_not_exists(id)' 2>/tmp/cli-check-err.$$; then
  fail "a conditional put that should fail succeeded"
fi
grep -q ConditionalCheckFailedException /tmp/cli-check-err.$$ || fail "expected ConditionalCheckFailedException: $(cat /tmp/cli-check-err.$$)"
rm -f /tmp/cli-check-err.$$
aws dynamodb delete-table --endpoint-url "$endpoint" --table-name "$cli_table" --output json >/dev/null

echo "boto3 against $endpoint"
python3 - "$endpoint" "$py_table" <<'PY'
import sys
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

endpoint, table_name = sys.argv[1], sys.argv[2]
db = boto3.resource("dynamodb", endpoint_url=endpoint)
table = db.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
table.wait_until_exists()
table.put_item(Item={"id": "1", "name": "Bob", "n": 5, "tags": {"a", "b"}})
item = table.get_item(Key={"id": "1"})["Item"]
expected = {"id": "1", "name": "Bob", "n": Decimal(5), "tags": {"a", "b"}}
assert item == expected, f"get_item returned {item!r}, expected {expected!r}"
out = table.update_item(
    Key={"id": "1"},
    UpdateExpression="SET n = n + :one",
    ExpressionAttributeValues={":one": 1},
    ReturnValues="UPDATED_NEW",
)
assert out["Attributes"] == {"n": Decimal(6)}, out
try:
    table.put_item(Item={"id": "1"}, ConditionExpression="attribute_not_exists(id)")
    raise AssertionError("a conditional put that should fail succeeded")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ConditionalCheckFailedException", e.response
# botocore checks x-amz-crc32 on every DynamoDB response; a mismatch would have raised above.
assert table.scan()["Count"] == 1
table.delete()
PY
echo "dynamodb-clients-check: ok"
