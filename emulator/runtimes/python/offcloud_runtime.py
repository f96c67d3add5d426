"""Offcloud's Python runtime interface client.

Runs a `python3.x` Lambda handler against the Lambda Runtime API using only the standard library (Python 3.9+):

    AWS_LAMBDA_RUNTIME_API=host:port python3 offcloud_runtime.py app.handler

It is Offcloud's own code, written from the behaviour notes in shared/notes/runtime-clients.md (sections 1, 2, 4
and 5), which describe AWS's awslambdaric (PYRIC) and the Lambda developer guide (LDG). The comments name the
source of each behaviour. Where this client differs from awslambdaric on purpose, the comment says so.
"""

import decimal
import http.client
import importlib
import io
import json
import logging
import os
import re
import socket
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"

# The request id and tenant id of the invoke in progress, read by the log formatters. Both are empty at init
# (PYRIC bootstrap.py LambdaLoggerFilter), which gives the `\t\t` of an init-time text log line.
_current = {"request_id": "", "tenant_id": None}

# PYRIC lambda_literals.py; the trailing carriage return is in AWS's output too.
LAMBDA_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare "
    "cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied automatically. To determine if the "
    "runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with "
    "a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/"
    "runtimes-update.html\r"
)


class Fault(Exception):
    """An error whose Lambda errorType is not the Python class name (PYRIC lambda_runtime_exception.py)."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class ApiGone(Exception):
    """The Runtime API cannot be reached or answered in a way that means the runtime should stop."""


def _this_file():
    return _this_file.__code__.co_filename


# ---------------------------------------------------------------------------------------------------------------
# JSON. awslambdaric encodes with simplejson (PYRIC lambda_runtime_marshaller.py, notes §2.3); the standard json
# module cannot write a Decimal as a raw number, so values are encoded here and only strings go through json.dumps,
# whose escaping is the same as simplejson's.


def _ensure_ascii():
    # Raw UTF-8 output only on python3.12 and later runtimes, chosen by AWS_EXECUTION_ENV (notes §2.3). The notes
    # list 3.12 to 3.15; later minor versions are assumed to keep the 3.12 behaviour.
    m = re.fullmatch(r"AWS_Lambda_python3\.(\d+)", os.environ.get("AWS_EXECUTION_ENV", ""))
    return not (m and int(m.group(1)) >= 12)


def _float(f):
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "Infinity" if f > 0 else "-Infinity"
    return float.__repr__(f)


def _key(k):
    if isinstance(k, str):
        return k
    if isinstance(k, bytes):
        return k.decode("utf-8")
    if k is True or k is False or k is None:
        return {True: "true", False: "false", None: "null"}[k]
    if isinstance(k, int):
        return int.__repr__(k)
    if isinstance(k, float):
        return _float(k)
    if isinstance(k, decimal.Decimal):
        return str(k)
    raise TypeError("keys must be str, int, float, bool or None, not %s" % type(k).__name__)


def to_json(value, ensure_ascii):
    """Encodes like simplejson's defaults: `, ` and `: ` separators, Decimal as a number, NaN allowed, bytes
    decoded as UTF-8, tuples as arrays and namedtuples as objects."""
    out = []
    seen = set()

    def enc(o):
        if isinstance(o, str):
            out.append(json.dumps(o, ensure_ascii=ensure_ascii))
        elif o is None:
            out.append("null")
        elif o is True or o is False:
            out.append("true" if o else "false")
        elif isinstance(o, int):
            out.append(int.__repr__(o))
        elif isinstance(o, float):
            out.append(_float(o))
        elif isinstance(o, decimal.Decimal):
            out.append(str(o))
        elif isinstance(o, bytes):
            out.append(json.dumps(o.decode("utf-8"), ensure_ascii=ensure_ascii))
        else:
            container(o)

    def container(o):
        if id(o) in seen:
            raise ValueError("Circular reference detected")
        asdict = getattr(o, "_asdict", None)
        if callable(asdict) and not isinstance(o, (list, dict)):
            o = asdict()
        elif not isinstance(o, (list, tuple, dict)):
            raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)
        seen.add(id(o))
        if isinstance(o, dict):
            out.append("{")
            for i, (k, v) in enumerate(o.items()):
                out.append(", " if i else "")
                out.append(json.dumps(_key(k), ensure_ascii=ensure_ascii) + ": ")
                enc(v)
            out.append("}")
        else:
            out.append("[")
            for i, v in enumerate(o):
                out.append(", " if i else "")
                enc(v)
            out.append("]")
        seen.discard(id(o))

    enc(value)
    return "".join(out)


def marshal_response(result):
    """Returns (body, content type) for a handler's result (PYRIC lambda_runtime_marshaller.py, notes §2.3)."""
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result, _ensure_ascii()).encode("utf-8"), "application/json"
    except (TypeError, ValueError) as e:
        raise Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e) from None


def unmarshal_event(body, content_type):
    # Only an exact `application/json` is decoded; anything else, including `application/json; charset=utf-8`,
    # reaches the handler as bytes, as awslambdaric does (notes §2.3 and §5). Decode errors carry the standard json
    # module's wording, which differs from simplejson's for some inputs (see the tests).
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except ValueError as e:
        raise Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e) from None


# ---------------------------------------------------------------------------------------------------------------
# Handler loading (PYRIC bootstrap.py _get_handler; notes §2.1).


def _setup_sys_path():
    """Puts LAMBDA_TASK_ROOT first, then each layer's /opt/python paths, then the interpreter's own entries, then
    OFFCLOUD_SDK_PATH, the import order of the managed image (notes §2.1 and §4). This script's own directory is
    dropped so that nothing beside the cached client file can shadow a user module."""
    here = os.path.dirname(os.path.realpath(_this_file()))
    front = [os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()]
    version = "python%d.%d" % sys.version_info[:2]
    for layer in filter(None, os.environ.get("OFFCLOUD_LAYER_DIRS", "").split(":")):
        front += [os.path.join(layer, "python", "lib", version, "site-packages"), os.path.join(layer, "python")]
    rest = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
    back = list(filter(None, os.environ.get("OFFCLOUD_SDK_PATH", "").split(":")))
    ordered = []
    for p in front + rest + back:
        if p not in ordered:
            ordered.append(p)
    sys.path[:] = ordered


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e)) from None
    dotted = modname.replace("/", ".")
    if dotted.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict", "Cannot use built-in module %s as a handler module" % modname)
    try:
        module = importlib.import_module(dotted)
    except ImportError as e:
        # Any ImportError, including one from the user module's own imports (notes §2.1, §5).
        raise Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e)) from None
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace) from None
    function = getattr(module, fname, None)
    if function is None:
        raise Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return function


# ---------------------------------------------------------------------------------------------------------------
# Error documents, the X-Ray cause and the error log line (PYRIC bootstrap.py make_error, make_xray_fault,
# log_error; notes §1 and §2.4).


def _user_frames(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    # awslambdaric drops the leading frames of its own bootstrap.py; this drops the leading frames of this file.
    while frames and frames[0].filename == _this_file():
        frames.pop(0)
    return frames


def error_result(exc, request_id):
    """Returns (error document, X-Ray cause) for an exception."""
    if isinstance(exc, Fault):
        doc = {"errorMessage": exc.message, "errorType": exc.error_type, "requestId": request_id,
               "stackTrace": exc.trace}
        return doc, {"working_directory": os.getcwd(),
                     "exceptions": [{"message": exc.message, "type": "LambdaValidationError", "stack": []}],
                     "paths": []}
    frames = _user_frames(exc)
    # Frames are formatted from plain tuples, so there are no 3.11+ caret lines, as in awslambdaric's output.
    trace = traceback.format_list([(f.filename, f.lineno, f.name, f.line) for f in frames])
    doc = {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id, "stackTrace": trace}
    paths = []
    for f in frames:
        if f.filename not in paths:
            paths.append(f.filename)
    stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in frames]
    return doc, {"working_directory": os.getcwd(),
                 "exceptions": [{"message": doc["errorMessage"], "type": doc["errorType"], "stack": stack}],
                 "paths": paths}


def log_error(doc):
    """Writes AWS's error line to stdout regardless of the log level: no timestamp or request id in text mode,
    lines joined by `\\r`, leading spaces turned into no-break spaces (notes §2.4)."""
    if _json_logs():
        record = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "ERROR",
                  "errorMessage": doc["errorMessage"], "errorType": doc["errorType"],
                  "requestId": doc["requestId"], "stackTrace": doc["stackTrace"]}
        _write(json.dumps(record, ensure_ascii=_ensure_ascii(), default=str) + "\n")
        return
    head = ": ".join(part for part in (doc["errorType"], doc["errorMessage"]) if part)
    lines = ["[ERROR] " + head, "Traceback (most recent call last):"]
    for entry in doc["stackTrace"]:
        for line in entry.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    _write("\r".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------------------------
# Logging and output (PYRIC bootstrap.py _setup_logging, Unbuffered; lambda_runtime_log_utils.py; notes §2.5).

_STANDARD_RECORD_KEYS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}


def _json_logs():
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def _write(text):
    sys.stdout.write(text)


def _unbuffer_stdio():
    # Like `python -u`: text streams that write through to an unbuffered file, so every print reaches the log
    # at once. UTF-8 is forced because Lambda runs with LANG=en_US.UTF-8 (notes §1).
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            fd = stream.fileno()
            stream.flush()
        except (AttributeError, OSError, ValueError):
            continue
        raw = io.FileIO(fd, "w", closefd=False)
        setattr(sys, name, io.TextIOWrapper(raw, encoding="utf-8", errors=stream.errors, write_through=True))


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _current["request_id"]
        record.tenant_id = _current["tenant_id"]
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record):
        doc = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
               "level": record.levelname,
               "message": record.msg if isinstance(record.msg, dict) else record.getMessage(),
               "logger": record.name}
        if record.exc_info and record.exc_info[0] is not None:
            exc = record.exc_info[1]
            frames = traceback.extract_tb(record.exc_info[2])
            doc["stackTrace"] = traceback.format_list([(f.filename, f.lineno, f.name, f.line) for f in frames])
            doc["errorType"] = type(exc).__name__
            doc["errorMessage"] = str(exc)
        doc["requestId"] = getattr(record, "aws_request_id", "")
        if "stackTrace" in doc:
            doc["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
        doc["tenantId"] = getattr(record, "tenant_id", None)
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_KEYS and key not in ("aws_request_id", "tenant_id"):
                doc[key] = value
        doc = {k: v for k, v in doc.items() if v is not None}
        return json.dumps(doc, ensure_ascii=_ensure_ascii(), default=str) + "\n"


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            _write(self.format(record))
        except Exception:
            self.handleError(record)


def _setup_logging():
    handler = _StdoutHandler()
    if _json_logs():
        handler.setFormatter(_JsonFormatter())
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    # Without AWS_LAMBDA_LOG_LEVEL Python's default WARNING stays, so logging.info is silent (notes §2.5, §5).
    level = _LEVELS.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper())
    if level is not None:
        root.setLevel(level)


# ---------------------------------------------------------------------------------------------------------------
# The context object (PYRIC lambda_context.py; LDG python-context.md; notes §2.6).


class CognitoIdentity:
    def __init__(self, identity):
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, client):
        self.installation_id = client.get("installation_id")
        self.app_title = client.get("app_title")
        self.app_version_name = client.get("app_version_name")
        self.app_version_code = client.get("app_version_code")
        self.app_package_name = client.get("app_package_name")


class ClientContext:
    def __init__(self, context):
        self.custom = context.get("custom")
        self.env = context.get("env")
        self.client = Client(context["client"]) if context.get("client") else None


class LambdaContext:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        try:
            self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        except ValueError:
            self._deadline_ms = 0
        # Both headers are plain JSON text (notes §1, §5).
        self.identity = CognitoIdentity(_json_header(headers, "Lambda-Runtime-Cognito-Identity", "Cognito Identity"))
        client_context = _json_header(headers, "Lambda-Runtime-Client-Context", "Client Context")
        self.client_context = ClientContext(client_context) if "Lambda-Runtime-Client-Context" in headers else None

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message):
        _write(str(message))

    def __repr__(self):
        return "LambdaContext(aws_request_id=%r, function_name=%r, invoked_function_arn=%r)" % (
            self.aws_request_id, self.function_name, self.invoked_function_arn)


def _json_header(headers, name, what):
    text = headers.get(name)
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        raise Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (what, e)) from None
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------------------------
# The Runtime API client (LDG runtimes-api.md; notes §1).


class RuntimeApi:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = address
        self.host = host.strip("[]")
        self.port = int(port)
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Sends one request and returns (status, headers, body). A failure on a kept-alive connection is retried
        once on a new one; a second failure means the Runtime API is gone."""
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    # No timeout: /next is a long poll ("Do not set a timeout on the GET").
                    self.conn = http.client.HTTPConnection(self.host, self.port)
                    self.conn.connect()
                    # http.client sends the headers and the body in two writes; without TCP_NODELAY that can
                    # stall ~40 ms on delayed ACKs (lambda-apigateway-behaviour.md §5).
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conn.request(method, API_PREFIX + path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.headers, response.read()
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise ApiGone("cannot reach the Runtime API at %s (%s: %s)" % (self.address, type(e).__name__, e))

    def post(self, path, body, headers):
        status, _, data = self.request("POST", path, body, headers)
        if status >= 500:
            # 500 on an error endpoint means "the runtime should exit" (LDG runtimes-api.md).
            raise ApiGone("the Runtime API answered %d to POST %s: %s" % (status, path, data[:200]))
        if status != 202:
            # For example 413 for an oversized response or 403 for a second one; the platform has already
            # recorded the outcome, so the runtime carries on with the next event.
            sys.stderr.write("offcloud_runtime: POST %s got %d: %s\n" % (path, status, data[:200].decode("utf-8", "replace")))


def _report_init_error(api, exc):
    # PYRIC bootstrap.py run: the warning, the error line, POST /init/error (with only the error-type header, as
    # http.client sends it), then exit status 1 (notes §1, §2.1).
    logging.getLogger().warning(LAMBDA_WARNING)
    doc, _ = error_result(exc, "")
    log_error(doc)
    try:
        api.post("/init/error", to_json(doc, _ensure_ascii()).encode("utf-8"),
                 {"Lambda-Runtime-Function-Error-Type": doc["errorType"]})
    except ApiGone as e:
        sys.stderr.write("offcloud_runtime: %s\n" % e)
    sys.exit(1)


def handle_invoke(api, handler, headers, body):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    _current["request_id"] = request_id
    _current["tenant_id"] = headers.get("Lambda-Runtime-Aws-Tenant-Id")
    # The trace id is copied for X-Ray SDKs, and deleted when absent so no stale value survives (notes §1).
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    # Only Exception is caught: sys.exit() in a handler ends the process, as it does on AWS (notes §2.2). An
    # `async def` handler is called like any other and its coroutine fails to marshal with Runtime.MarshalError,
    # which is what awslambdaric does; AWS's Python runtime has no async support.
    try:
        context = LambdaContext(headers)
        event = unmarshal_event(body, headers.get("Content-Type"))
        payload, content_type = marshal_response(handler(event, context))
    except Exception as exc:
        doc, cause = error_result(exc, request_id)
        log_error(doc)
        error_headers = {"Content-Type": "application/json"}
        # On python3.12+ the cause is raw UTF-8, and goes as bytes because http.client would encode a str header
        # as Latin-1. awslambdaric drops a cause of 1 MiB or more (notes §1).
        cause_json = to_json(cause, _ensure_ascii()).encode("utf-8")
        if len(cause_json) < 1024 * 1024:
            error_headers["Lambda-Runtime-Function-XRay-Error-Cause"] = cause_json
        api.post("/invocation/%s/error" % request_id, to_json(doc, _ensure_ascii()).encode("utf-8"), error_headers)
    else:
        api.post("/invocation/%s/response" % request_id, payload, {"Content-Type": content_type})


def main():
    _unbuffer_stdio()
    # The handler comes as argv[1] (PYRIC __main__.py); _HANDLER is a fallback, as in the managed image.
    handler_name = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER")
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not handler_name or not address:
        sys.stderr.write("offcloud_runtime: usage: AWS_LAMBDA_RUNTIME_API=host:port %s <module.function>\n"
                         % os.path.basename(_this_file()))
        sys.exit(2)
    _setup_sys_path()
    _setup_logging()
    api = RuntimeApi(address)
    try:
        try:
            handler = load_handler(handler_name)
        except Exception as exc:
            _report_init_error(api, exc)
        while True:
            status, headers, body = api.request("GET", "/invocation/next")
            if status != 200 or not headers.get("Lambda-Runtime-Aws-Request-Id"):
                raise ApiGone("the Runtime API answered %d to GET /invocation/next without a request id: %s"
                              % (status, body[:200]))
            handle_invoke(api, handler, headers, body)
    except ApiGone as e:
        sys.stderr.write("offcloud_runtime: %s; exiting\n" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
