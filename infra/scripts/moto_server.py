"""Runs a moto server on a free loopback port for one test process.

Prints the port on the first line of stdout, then serves until stdin closes, which happens
when the test process that started it exits (however it exits), so no server outlives it.

Requests are served one at a time: moto does not isolate concurrent requests from each
other (two racing TransactWriteItems calls can both pass their conditions), while DynamoDB
does. Serial handling gives each request DynamoDB's all-or-nothing isolation.

Two changes to moto's TransactWriteItems (moto 5.2.5, pinned in requirements-test.txt):

- DynamoDB makes a call idempotent by its ClientRequestToken, which the AWS SDKs fill in
  and keep across their retries: a call repeated with the token of one that succeeded
  within 10 minutes succeeds again without writing; with other parameters it is refused
  with IdempotentParameterMismatchException
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
  moto ignores the token, so an SDK retry of a transaction that was applied (its answer
  lost, or late) failed every condition it had itself moved on, and the service took a
  won claim for a lost one.
- moto backs up every table a transaction touches, whole (a deep copy), to roll back on a
  failed condition: about 0.3 s per transaction once a table holds a few thousand items
  (the fleet test's layoff), while the server answers nothing else. Here only the items the
  transaction names are kept and put back; the result is the same.
"""
import copy
import logging
import sys
import threading
import time

import moto.dynamodb.models as dynamodb_models
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

# How long DynamoDB remembers a transaction's client request token.
TOKEN_KEPT_SECONDS = 600


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self):
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )


# Client request token -> (when its transaction succeeded, its items).
succeeded = {}
answer_transaction = DynamoHandler.transact_write_items


def idempotent_transaction(handler):
    token = handler.body.get("ClientRequestToken")
    items = handler.body["TransactItems"]
    now = time.monotonic()
    for old in [t for t, (at, _) in succeeded.items() if now - at > TOKEN_KEPT_SECONDS]:
        del succeeded[old]
    if token in succeeded:
        if succeeded[token][1] != items:
            raise IdempotentParameterMismatch()
        return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
    answer = answer_transaction(handler)
    if token:
        succeeded[token] = (time.monotonic(), copy.deepcopy(items))
    return answer


DynamoHandler.transact_write_items = idempotent_transaction


class TablesKept:
    """moto's `copy` module in its DynamoDB models, except that a table is not copied:
    the transaction below keeps what it needs to put back."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


dynamodb_models.copy = TablesKept()
apply_transaction = dynamodb_models.DynamoDBBackend.transact_write_items


def item_location(backend, op_type, op):
    """The table and the key (hash, range) of one transaction item."""
    table = backend.get_table(op["TableName"])
    attrs = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = DynamoType(attrs[table.range_key_attr]) if table.has_range_key else None
    return table, hash_value, range_value


def transaction_rolled_back_by_item(backend, transact_items):
    kept = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        try:
            table, hash_value, range_value = item_location(backend, op_type, op)
        except Exception:
            continue  # moto's own validation refuses it below, before writing anything
        before = table.get_item(hash_value, range_value)
        # An update changes the stored item in place: keep a copy of it.
        kept.append((table, hash_value, range_value, copy.deepcopy(before)))
    try:
        apply_transaction(backend, transact_items)
    except Exception:
        for table, hash_value, range_value, before in reversed(kept):
            table.delete_item(hash_value, range_value)
            if before is None:
                continue
            if range_value is None:
                table.items[hash_value] = before
            else:
                table.items[hash_value][range_value] = before
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = transaction_rolled_back_by_item

logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_port, flush=True)
sys.stdin.read()
server.shutdown()
