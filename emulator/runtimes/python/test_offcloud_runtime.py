"""Tests for offcloud_runtime.py, Offcloud's Python runtime interface client.

Run from the repository root:

    python3 emulator/runtimes/python/test_offcloud_runtime.py

Each test starts an in-process fake Runtime API (http.server on 127.0.0.1, port 0) that hands out queued events with
the real /next headers and records every POST, then runs the client as a subprocess against handler files written
to a temporary directory. When awslambdaric is importable by this interpreter, AwsParityTest runs the same cases
through `python -m awslambdaric` and compares the two byte for byte; OFFCLOUD_REQUIRE_AWSLAMBDARIC=1 turns its
skip into a failure.
"""

import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "offcloud_runtime.py")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
RUN_TIMEOUT = 20
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
TRACE = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


class FakeRuntimeApi:
    """A Runtime API that serves queued events and records POSTs. With an empty queue a GET /next is held until
    the test ends (like the real long poll), or, with `close_when_empty`, the connection is dropped at once."""

    def __init__(self, events, close_when_empty=False, next_status=200):
        self.events = list(events)
        self.posts = []
        self.gets = 0
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with api.cond:
                    api.gets += 1
                    event = api.events.pop(0) if api.events else None
                if next_status != 200:
                    self._reply(next_status, {}, b'{"errorType":"ServiceException"}')
                    return
                if event is None:
                    if not close_when_empty:
                        api.stopping.wait(RUN_TIMEOUT)
                    self.close_connection = True
                    return
                headers, body = event
                self._reply(200, headers, body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with api.cond:
                    api.posts.append(Post(self.path, self.headers, body))
                    api.cond.notify_all()
                self._reply(202, {"Content-Type": "application/json"}, b'{"status":"OK"}')

            def _reply(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # `shutdown` waits for the serving loop to look at its flag, which it does once per poll interval (half a
        # second by default, which was most of this suite's run time).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()
        self.address = "127.0.0.1:%d" % self.server.server_address[1]

    def wait_for_posts(self, count, process, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.posts) < count and time.monotonic() < deadline and process.poll() is None:
                self.cond.wait(0.05)

    def close(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Post:
    def __init__(self, path, headers, body):
        self.path = path
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Post(%r, %r, %r)" % (self.path, self.headers, self.body)


def event(payload, request_id="req-1", content_type="application/json", **extra):
    headers = {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60000),
        "Lambda-Runtime-Invoked-Function-Arn": ARN,
        "Lambda-Runtime-Trace-Id": TRACE,
    }
    if content_type:
        headers["Content-Type"] = content_type
    for name, value in extra.items():
        if value is None:
            headers.pop(name.replace("_", "-"), None)
        else:
            headers[name.replace("_", "-")] = value
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    return headers, body


class Run:
    def __init__(self, posts, stdout, stderr, returncode, elapsed):
        self.posts, self.stdout, self.stderr, self.returncode, self.elapsed = posts, stdout, stderr, returncode, elapsed

    @property
    def text(self):
        return self.stdout.decode("utf-8")


HANDLERS = {
    "app.py": '''
        import asyncio, collections, decimal, logging, os, sys
        logging.getLogger().warning("init warning")
        Point = collections.namedtuple("Point", "x y")

        def echo(event, context):
            logging.warning("echo %s", context.aws_request_id)
            print("printed", event)
            return {"event": event, "none": None}

        def decimals(event, context):
            return {"price": decimal.Decimal("19.90"), "big": decimal.Decimal("1E+3"), "text": "h\\u00e9llo \\u2713 \\U0001f600",
                    "ctl": "\\x01\\n", "f": 1.5, "nan": float("nan"), "tuple": (1, 2), "point": Point(1, 2),
                    "raw": b"bytes", 1: "int key", None: "none key", 2.5: "float key", "bool": True}

        def fail(event, context):
            def inner():
                raise ValueError("bad th\\u00efng")
            inner()

        def key_error(event, context):
            return {}["missing"]

        def raw(event, context):
            return b"\\x00\\xffraw"

        def returns_none(event, context):
            return None

        def unserialisable(event, context):
            return {"s": {1, 2}}

        def bad_key(event, context):
            return {(1, 2): 1}

        def circular(event, context):
            a = []
            a.append(a)
            return a

        def event_type(event, context):
            return {"type": type(event).__name__, "repr": repr(event)}

        async def coroutine(event, context):
            return 1

        def exits(event, context):
            sys.exit(3)

        def unbuffered(event, context):
            print("no newline", end="")
            sys.stderr.write("stderr no newline")
            os._exit(7)

        def trace(event, context):
            return os.environ.get("_X_AMZN_TRACE_ID")

        def describe(event, context):
            def plain(o):
                if o is None or isinstance(o, (str, int, float, bool, dict, list)):
                    return o
                return dict({k: plain(getattr(o, k)) for k in dir(o) if not k.startswith("_") and not callable(getattr(o, k))},
                            __type=type(o).__name__)
            context.log("context log line\\n")
            return {"context": plain(context), "remaining": context.get_remaining_time_in_millis()}

        def logs(event, context):
            log = logging.getLogger("x.y")
            log.debug("debug line")
            log.info("info \\u00e9")
            log.warning({"dict": "message"})
            log.warning("extra", extra={"k": "v", "gone": None})
            try:
                raise KeyError("kk")
            except KeyError:
                log.exception("caught")
            return None

        def path(event, context):
            import importlib
            found = {}
            for name in ("layer_mod", "sdk_mod", "decoy_mod"):
                try:
                    found[name] = importlib.import_module(name).WHERE
                except ImportError as e:
                    found[name] = str(e)
            return {"sys_path": sys.path, "found": found}
    ''',
    "sub/nested.py": '''
        def handler(event, context):
            return "nested"
    ''',
    "pkg/__init__.py": "",
    "pkg/mod.py": '''
        def fn(event, context):
            return "pkg.mod"
    ''',
    "missing_dep.py": '''
        import requests_that_does_not_exist
    ''',
    "syntax.py": '''
        def f(event, context):
            return (

        x = = 1
    ''',
    "raises_at_import.py": '''
        raise KeyError("boom")
    ''',
}


class ClientTestCase(unittest.TestCase):
    """Writes the handlers once and copies the client into a cache directory, as the Rust side does."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = os.path.realpath(tempfile.mkdtemp(prefix="offcloud-pyric-"))
        cls.task = os.path.join(cls.tmp, "task")
        for name, source in HANDLERS.items():
            path = os.path.join(cls.task, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(source).lstrip("\n"))
        cls.cache = os.path.join(cls.tmp, "cache")
        os.makedirs(cls.cache)
        shutil.copy(CLIENT, cls.cache)
        # A module beside the cached client must never be importable by user code.
        with open(os.path.join(cls.cache, "decoy_mod.py"), "w") as f:
            f.write("WHERE = 'cache'\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def base_env(self, api):
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "AWS_LAMBDA_RUNTIME_API": api,
            "LAMBDA_TASK_ROOT": self.task,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]abc",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": "us-east-1",
        }

    def run_client(self, handler, events=(), posts=None, env=None, runner="offcloud", api=None, timeout=RUN_TIMEOUT,
                   close_when_empty=False, next_status=200):
        """Runs one client process. It ends by itself (init error, exit, API gone) or is terminated once `posts`
        POSTs (default: one per event) have arrived."""
        expected = len(events) if posts is None else posts
        fake = FakeRuntimeApi(events, close_when_empty, next_status)
        environment = self.base_env(api or fake.address)
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        if runner == "offcloud":
            argv = [sys.executable, os.path.join(self.cache, "offcloud_runtime.py"), handler]
        else:
            argv = [sys.executable, "-m", "awslambdaric", handler]
        started = time.monotonic()
        process = subprocess.Popen(argv, cwd=self.task, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        try:
            fake.wait_for_posts(expected, process, timeout)
            if fake.posts and fake.posts[-1].path.endswith("/init/error"):
                process.wait(timeout)  # The client exits by itself after an init error.
            elif process.poll() is None and len(fake.posts) >= expected:
                time.sleep(0.1)  # Anything sent after the expected POSTs would be caught too.
            if process.poll() is None:
                process.terminate()
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
            fake.close()
        return Run(list(fake.posts), stdout, stderr, process.returncode, time.monotonic() - started)

    def invoke(self, handler, payload=None, **kwargs):
        run = self.run_client(handler, [event({} if payload is None else payload)], **kwargs)
        self.assertEqual(len(run.posts), 1, run.stderr)
        return run.posts[0], run


class HandlerResolutionTest(ClientTestCase):
    def test_module_function(self):
        post, _ = self.invoke("app.echo", {"a": 1})
        self.assertEqual(post.path, "/2018-06-01/runtime/invocation/req-1/response")
        self.assertEqual(post.json(), {"event": {"a": 1}, "none": None})

    def test_nested_directory(self):
        post, _ = self.invoke("sub/nested.handler")
        self.assertEqual(post.body, b'"nested"')

    def test_package_module_splits_at_last_dot(self):
        post, _ = self.invoke("pkg.mod.fn")
        self.assertEqual(post.body, b'"pkg.mod"')

    def test_sys_path_order(self):
        layer = os.path.join(self.tmp, "layer1")
        site = os.path.join(layer, "python", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "layer_mod.py"), "w") as f:
            f.write("WHERE = 'layer'\n")
        sdk = os.path.join(self.tmp, "sdk")
        os.makedirs(sdk, exist_ok=True)
        with open(os.path.join(sdk, "sdk_mod.py"), "w") as f:
            f.write("WHERE = 'sdk'\n")
        layer2 = os.path.join(self.tmp, "layer2")
        post, _ = self.invoke("app.path", env={"OFFCLOUD_LAYER_DIRS": layer + ":" + layer2, "OFFCLOUD_SDK_PATH": sdk})
        result = post.json()
        path = result["sys_path"]
        self.assertEqual(path[:5], [self.task, site, os.path.join(layer, "python"),
                                    os.path.join(layer2, "python", "lib", "python%d.%d" % sys.version_info[:2],
                                                 "site-packages"),
                                    os.path.join(layer2, "python")])
        self.assertEqual(path[-1], sdk)
        self.assertNotIn(self.cache, path)
        self.assertEqual(result["found"]["layer_mod"], "layer")
        self.assertEqual(result["found"]["sdk_mod"], "sdk")
        self.assertEqual(result["found"]["decoy_mod"], "No module named 'decoy_mod'")


class InitErrorTest(ClientTestCase):
    def init_error(self, handler):
        run = self.run_client(handler, [event({})])
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertEqual([p.path for p in run.posts], ["/2018-06-01/runtime/init/error"])
        post = run.posts[0]
        doc = post.json()
        self.assertEqual(list(doc), ["errorMessage", "errorType", "requestId", "stackTrace"])
        self.assertEqual(doc["requestId"], "")
        self.assertEqual(post.headers["lambda-runtime-function-error-type"], doc["errorType"])
        # The warning comes first, then the error line (PYRIC bootstrap.py run).
        lines = run.text.splitlines()
        warning = [i for i, line in enumerate(lines) if "LAMBDA_WARNING: Unhandled exception." in line]
        error = [i for i, line in enumerate(lines) if line.startswith("[ERROR] " + doc["errorType"])]
        self.assertTrue(warning and error and warning[0] < error[0], run.text)
        return doc, run

    def test_malformed_handler_name(self):
        doc, _ = self.init_error("app")
        self.assertEqual(doc["errorType"], "Runtime.MalformedHandlerName")
        self.assertEqual(doc["errorMessage"], "Bad handler 'app': not enough values to unpack (expected 2, got 1)")

    def test_built_in_module_conflict(self):
        doc, _ = self.init_error("sys.handler")
        self.assertEqual(doc["errorType"], "Runtime.BuiltInModuleConflict")
        self.assertEqual(doc["errorMessage"], "Cannot use built-in module sys as a handler module")

    def test_import_error_of_a_dependency(self):
        doc, _ = self.init_error("missing_dep.handler")
        self.assertEqual(doc["errorType"], "Runtime.ImportModuleError")
        self.assertEqual(doc["errorMessage"],
                         "Unable to import module 'missing_dep': No module named 'requests_that_does_not_exist'")
        self.assertEqual(doc["stackTrace"], [])

    def test_missing_module(self):
        doc, _ = self.init_error("sub/absent.handler")
        self.assertEqual(doc["errorMessage"], "Unable to import module 'sub/absent': No module named 'sub.absent'")

    def test_syntax_error(self):
        doc, run = self.init_error("syntax.f")
        self.assertEqual(doc["errorType"], "Runtime.UserCodeSyntaxError")
        self.assertTrue(doc["errorMessage"].startswith("Syntax error in module 'syntax': "), doc)
        self.assertEqual(len(doc["stackTrace"]), 1)
        self.assertRegex(doc["stackTrace"][0], r'^  File "%s" Line \d+\n    ' % re.escape(os.path.join(self.task, "syntax.py")))
        self.assertIn("\u00a0\u00a0File", run.text)

    def test_handler_not_found(self):
        doc, _ = self.init_error("sub/nested.absent")
        self.assertEqual(doc["errorType"], "Runtime.HandlerNotFound")
        self.assertEqual(doc["errorMessage"], "Handler 'absent' missing on module 'sub/nested'")

    def test_other_exception_keeps_its_class_name(self):
        doc, _ = self.init_error("raises_at_import.handler")
        self.assertEqual(doc["errorType"], "KeyError")
        self.assertEqual(doc["errorMessage"], "'boom'")
        self.assertIn("raise KeyError", doc["stackTrace"][-1])
        self.assertFalse(any("offcloud_runtime" in frame for frame in doc["stackTrace"]), doc)


class InvokeTest(ClientTestCase):
    def test_trace_id_is_set_and_deleted(self):
        run = self.run_client("app.trace", [event({}, "r1"), event({}, "r2", Lambda_Runtime_Trace_Id=None),
                                            event({}, "r3", Lambda_Runtime_Trace_Id="")])
        self.assertEqual([p.body for p in run.posts], [json.dumps(TRACE).encode(), b"null", b"null"])
        self.assertEqual([p.path for p in run.posts], ["/2018-06-01/runtime/invocation/%s/response" % r
                                                       for r in ("r1", "r2", "r3")])

    def test_event_is_decoded_only_for_application_json(self):
        run = self.run_client("app.event_type", [
            event(b'{"a": 1}', "r1"),
            event(b"raw \xff", "r2", content_type="text/plain"),
            event(b'{"a": 1}', "r3", content_type="application/json; charset=utf-8"),
            event(b"", "r4", content_type=None),
        ])
        self.assertEqual([p.json()["type"] for p in run.posts], ["dict", "bytes", "bytes", "bytes"])
        self.assertEqual(run.posts[1].json()["repr"], "b'raw \\xff'")

    def test_unmarshal_error(self):
        post, _ = self.invoke("app.echo", b"nope")
        self.assertEqual(post.path, "/2018-06-01/runtime/invocation/req-1/error")
        self.assertEqual(post.json()["errorType"], "Runtime.UnmarshalError")
        self.assertEqual(post.json()["errorMessage"], "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)")

    def test_decimal_and_escaped_unicode_before_312(self):
        post, _ = self.invoke("app.decimals")
        self.assertEqual(post.headers["content-type"], "application/json")
        self.assertEqual(post.body, (
            b'{"price": 19.90, "big": 1E+3, "text": "h\\u00e9llo \\u2713 \\ud83d\\ude00", "ctl": "\\u0001\\n", '
            b'"f": 1.5, "nan": NaN, "tuple": [1, 2], "point": {"x": 1, "y": 2}, "raw": "bytes", "1": "int key", '
            b'"null": "none key", "2.5": "float key", "bool": true}'))

    def test_raw_utf8_from_312(self):
        post, _ = self.invoke("app.decimals", env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"})
        self.assertIn('"text": "h\u00e9llo \u2713 \U0001f600"'.encode("utf-8"), post.body)
        self.assertIn(b'"ctl": "\\u0001\\n"', post.body)

    def test_none_and_bytes(self):
        post, _ = self.invoke("app.returns_none")
        self.assertEqual((post.body, post.headers["content-type"]), (b"null", "application/json"))
        post, _ = self.invoke("app.raw")
        self.assertEqual((post.body, post.headers["content-type"]), (b"\x00\xffraw", "application/unknown"))

    def test_marshal_errors(self):
        cases = {
            "app.unserialisable": "Object of type set is not JSON serializable",
            "app.bad_key": "keys must be str, int, float, bool or None, not tuple",
            "app.circular": "Circular reference detected",
            # An async handler is called like any other, as on AWS, and its coroutine does not marshal.
            "app.coroutine": "Object of type coroutine is not JSON serializable",
        }
        for handler, reason in cases.items():
            with self.subTest(handler):
                post, run = self.invoke(handler)
                self.assertEqual(post.json(), {"errorMessage": "Unable to marshal response: " + reason,
                                               "errorType": "Runtime.MarshalError", "requestId": "req-1",
                                               "stackTrace": []})
                self.assertIn("[ERROR] Runtime.MarshalError: Unable to marshal response: %s\rTraceback (most "
                              "recent call last):\n" % reason, run.text)

    def test_handler_exception(self):
        post, run = self.invoke("app.fail")
        app = os.path.join(self.task, "app.py")
        self.assertEqual(post.path, "/2018-06-01/runtime/invocation/req-1/error")
        self.assertEqual(post.headers["content-type"], "application/json")
        self.assertNotIn("lambda-runtime-function-error-type", post.headers)
        doc = post.json()
        self.assertEqual(list(doc), ["errorMessage", "errorType", "requestId", "stackTrace"])
        self.assertEqual(doc["errorType"], "ValueError")
        self.assertEqual(doc["errorMessage"], "bad th\u00efng")
        self.assertEqual(doc["requestId"], "req-1")
        self.assertEqual(len(doc["stackTrace"]), 2)
        self.assertTrue(doc["stackTrace"][0].startswith('  File "%s", line ' % app), doc)
        self.assertTrue(doc["stackTrace"][1].endswith(', in inner\n    raise ValueError("bad th\\u00efng")\n'), doc)
        cause = json.loads(post.headers["lambda-runtime-function-xray-error-cause"])
        self.assertEqual(cause["working_directory"], self.task)
        self.assertEqual(cause["paths"], [app])
        self.assertEqual([f["label"] for f in cause["exceptions"][0]["stack"]], ["fail", "inner"])
        line = [l for l in run.text.split("\n") if l.startswith("[ERROR]")][0]
        parts = line.split("\r")
        self.assertEqual(parts[:2], ["[ERROR] ValueError: bad th\u00efng", "Traceback (most recent call last):"])
        self.assertTrue(parts[2].startswith("\u00a0\u00a0File "), parts)
        self.assertTrue(parts[3].startswith("\u00a0\u00a0\u00a0\u00a0inner()"), parts)

    def test_key_error_message(self):
        post, _ = self.invoke("app.key_error")
        self.assertEqual((post.json()["errorType"], post.json()["errorMessage"]), ("KeyError", "'missing'"))

    def test_sys_exit_is_not_caught(self):
        run = self.run_client("app.exits", [event({})])
        self.assertEqual(run.returncode, 3)
        self.assertEqual(run.posts, [])

    def test_stdout_and_stderr_are_unbuffered(self):
        run = self.run_client("app.unbuffered", [event({})])
        self.assertEqual(run.returncode, 7)
        self.assertTrue(run.stdout.endswith(b"no newline"), run.stdout)
        self.assertEqual(run.stderr, b"stderr no newline")

    def test_several_invokes_on_one_process(self):
        run = self.run_client("app.echo", [event({"n": i}, "r%d" % i) for i in range(5)])
        self.assertEqual([p.json()["event"]["n"] for p in run.posts], list(range(5)))


class ContextTest(ClientTestCase):
    CLIENT_CONTEXT = {"client": {"installation_id": "i", "app_title": "t", "app_version_name": "vn",
                                 "app_version_code": "vc", "app_package_name": "p"},
                      "custom": {"k": "v"}, "env": {"locale": "en"}}

    def test_attributes(self):
        run = self.run_client("app.describe", [
            event({}, "r1", Lambda_Runtime_Client_Context=json.dumps(self.CLIENT_CONTEXT),
                  Lambda_Runtime_Cognito_Identity=json.dumps({"cognitoIdentityId": "cid",
                                                              "cognitoIdentityPoolId": "pool"}),
                  Lambda_Runtime_Aws_Tenant_Id="tenant-1"),
            event({}, "r2", Lambda_Runtime_Deadline_Ms="5"),
        ])
        first, second = [p.json() for p in run.posts]
        self.assertEqual(first["context"], {
            "__type": "LambdaContext", "aws_request_id": "r1", "invoked_function_arn": ARN, "function_name": "fn",
            "function_version": "$LATEST", "memory_limit_in_mb": "128", "log_group_name": "/aws/lambda/fn",
            "log_stream_name": "2024/01/01/[$LATEST]abc", "tenant_id": "tenant-1",
            "identity": {"__type": "CognitoIdentity", "cognito_identity_id": "cid", "cognito_identity_pool_id": "pool"},
            "client_context": {"__type": "ClientContext", "custom": {"k": "v"}, "env": {"locale": "en"},
                               "client": dict(self.CLIENT_CONTEXT["client"], __type="Client")},
        })
        self.assertTrue(50000 < first["remaining"] <= 60000, first["remaining"])
        self.assertEqual(second["remaining"], 0)
        self.assertIsNone(second["context"]["client_context"])
        self.assertIsNone(second["context"]["tenant_id"])
        self.assertEqual(second["context"]["identity"], {"__type": "CognitoIdentity", "cognito_identity_id": None,
                                                         "cognito_identity_pool_id": None})
        self.assertEqual(run.text.count("context log line\n"), 2)

    def test_bad_context_headers(self):
        run = self.run_client("app.describe", [
            event({}, "r1", Lambda_Runtime_Client_Context="e30="),
            event({}, "r2", Lambda_Runtime_Cognito_Identity="nope"),
        ])
        docs = [p.json() for p in run.posts]
        self.assertEqual([d["errorType"] for d in docs], ["Runtime.LambdaContextUnmarshalError"] * 2)
        self.assertEqual(docs[0]["errorMessage"], "Unable to parse Client Context JSON: Expecting value: line 1 column 1 (char 0)")
        self.assertEqual(docs[1]["errorMessage"], "Unable to parse Cognito Identity JSON: Expecting value: line 1 column 1 (char 0)")


class LoggingTest(ClientTestCase):
    def test_text_format_and_default_level(self):
        _, run = self.invoke("app.logs")
        lines = TIMESTAMP.sub("TS", run.text).split("\n")
        self.assertEqual(lines[0], "[WARNING]\tTS\t\tinit warning")
        self.assertIn("[WARNING]\tTS\treq-1\t{'dict': 'message'}", lines)
        self.assertNotIn("info", run.text)  # WARNING is Python's default level (notes §2.5).
        self.assertIn("[ERROR]\tTS\treq-1\tcaught", lines)
        self.assertIn("Traceback (most recent call last):", lines)

    def test_print_is_unchanged(self):
        _, run = self.invoke("app.echo", {"a": 1})
        self.assertIn("\nprinted {'a': 1}\n", run.text)

    def test_level_from_environment(self):
        _, run = self.invoke("app.logs", env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
        self.assertIn("\treq-1\tdebug line\n", run.text)
        self.assertIn("[INFO]", run.text)
        _, run = self.invoke("app.logs", env={"AWS_LAMBDA_LOG_LEVEL": "ERROR"})
        self.assertNotIn("init warning", run.text)
        self.assertNotIn("[WARNING]", run.text)

    def test_json_format(self):
        _, run = self.invoke("app.logs", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        records = [json.loads(line) for line in run.text.splitlines()]
        self.assertEqual(records[0], dict(records[0], level="WARNING", message="init warning", logger="root",
                                          requestId=""))
        self.assertRegex(records[0]["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        info = records[1]
        self.assertEqual((info["message"], info["logger"], info["requestId"]), ("info \u00e9", "x.y", "req-1"))
        self.assertEqual(records[2]["message"], {"dict": "message"})
        self.assertEqual(records[3]["k"], "v")
        self.assertNotIn("gone", records[3])
        self.assertEqual((records[4]["errorType"], records[4]["errorMessage"]), ("KeyError", "'kk'"))
        self.assertRegex(records[4]["location"], r"app\.py:logs:\d+$")

    def test_json_error_line(self):
        _, run = self.invoke("app.fail", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
        record = json.loads(run.text.splitlines()[-1])
        self.assertEqual(list(record), ["timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"])
        self.assertEqual((record["level"], record["errorType"]), ("ERROR", "ValueError"))


class RobustnessTest(ClientTestCase):
    def test_api_going_away_ends_the_process(self):
        run = self.run_client("app.echo", [event({})], posts=99, close_when_empty=True, timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertEqual(len(run.posts), 1)
        self.assertIn(b"offcloud_runtime: cannot reach the Runtime API", run.stderr)
        self.assertLess(run.elapsed, 5)

    def test_nothing_listening(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        run = self.run_client("app.echo", [], posts=99, api="127.0.0.1:%d" % port, timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertIn(b"cannot reach the Runtime API", run.stderr)
        self.assertLess(run.elapsed, 5)

    def test_next_failing_is_not_retried_in_a_loop(self):
        run = self.run_client("app.echo", [event({})], posts=99, next_status=500, timeout=10)
        self.assertEqual(run.returncode, 1)
        self.assertIn(b"answered 500 to GET /invocation/next", run.stderr)

    def test_missing_runtime_api(self):
        run = self.run_client("app.echo", [], posts=99, env={"AWS_LAMBDA_RUNTIME_API": None}, timeout=10)
        self.assertEqual(run.returncode, 2)
        self.assertIn(b"AWS_LAMBDA_RUNTIME_API", run.stderr)


def _awslambdaric_available():
    return importlib.util.find_spec("awslambdaric") is not None


class AwsParityTest(ClientTestCase):
    """The same handlers and events through awslambdaric and through offcloud_runtime.py must POST the same paths,
    bodies and error-type, content-type and X-Ray headers, and print the same log text up to timestamps."""

    CASES = [
        ("success", "app.echo", [event({"a": [1, "two"]}), event({"b": None}, "req-2")], {}),
        ("decimal and unicode, 3.11", "app.decimals", [event({})], {}),
        ("decimal and unicode, 3.12", "app.decimals", [event({})], {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}),
        ("handler exception", "app.fail", [event({})], {}),
        ("handler exception, 3.12", "app.fail", [event({})], {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}),
        ("key error", "app.key_error", [event({})], {}),
        ("import error", "missing_dep.handler", [event({})], {}),
        ("missing module", "sub/absent.handler", [event({})], {}),
        ("missing handler", "app.absent", [event({})], {}),
        ("missing nested handler", "sub/nested.absent", [event({})], {}),
        ("malformed handler", "app", [event({})], {}),
        ("built-in module", "sys.handler", [event({})], {}),
        ("syntax error", "syntax.f", [event({})], {}),
        ("exception at import", "raises_at_import.handler", [event({})], {}),
        ("nested handler", "sub/nested.handler", [event({})], {}),
        ("bytes result", "app.raw", [event({})], {}),
        ("marshal errors", "app.unserialisable", [event({})], {}),
        ("bad dict key", "app.bad_key", [event({})], {}),
        ("circular", "app.circular", [event({})], {}),
        ("async handler", "app.coroutine", [event({})], {}),
        ("raw events and unmarshal error", "app.event_type",
         [event(b"raw \xff", content_type="text/plain"), event(b"nope", "req-2"),
          event(b'{"a":1}', "req-3", content_type="application/json; charset=utf-8")], {}),
        ("bad client context", "app.describe", [event({}, Lambda_Runtime_Client_Context="e30=")], {}),
        ("context", "app.describe", [event({}, Lambda_Runtime_Client_Context=json.dumps(ContextTest.CLIENT_CONTEXT),
                                           Lambda_Runtime_Deadline_Ms="5")], {}),
        ("text logs", "app.logs", [event({})], {"AWS_LAMBDA_LOG_LEVEL": "INFO"}),
        ("json logs", "app.logs", [event({}, Lambda_Runtime_Aws_Tenant_Id="t-1")],
         {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}),
        ("json error logs", "app.fail", [event({})], {"AWS_LAMBDA_LOG_FORMAT": "JSON"}),
    ]
    HEADERS = ("content-type", "lambda-runtime-function-error-type", "lambda-runtime-function-xray-error-cause")

    def setUp(self):
        if not _awslambdaric_available():
            command = "python3 -m venv %s && %s install --quiet awslambdaric boto3 awscli" % (
                os.path.join(REPO, "target", "venv"), os.path.join(REPO, "target", "venv", "bin", "pip"))
            message = ("awslambdaric is not importable by %s; run: %s, then run the tests with %s"
                       % (sys.executable, command, os.path.join(REPO, "target", "venv", "bin", "python")))
            if os.environ.get("OFFCLOUD_REQUIRE_AWSLAMBDARIC") == "1":
                self.fail(message)
            self.skipTest(message)

    def normalise(self, run):
        posts = [(p.path, {h: p.headers.get(h) for h in self.HEADERS}, p.body) for p in run.posts]
        return posts, TIMESTAMP.sub("TS", run.text)

    def test_same_bytes_as_awslambdaric(self):
        for name, handler, events, env in self.CASES:
            with self.subTest(name):
                aws = self.run_client(handler, events, env=env, runner="awslambdaric")
                ours = self.run_client(handler, events, env=env)
                self.assertGreater(len(aws.posts), 0, aws.stderr)
                aws_posts, aws_text = self.normalise(aws)
                our_posts, our_text = self.normalise(ours)
                self.assertEqual(our_posts, aws_posts)
                self.assertEqual(our_text, aws_text)
                if aws.posts[0].path.endswith("/init/error"):
                    self.assertEqual((ours.returncode, aws.returncode), (1, 1))

    def test_known_differences(self):
        # simplejson's decode errors are worded differently from the standard json module's for some inputs. The
        # client keeps the standard wording rather than carry a copy of simplejson's messages.
        aws = self.run_client("app.event_type", [event(b"{bad")], runner="awslambdaric")
        ours = self.run_client("app.event_type", [event(b"{bad")])
        self.assertIn("Expecting property name enclosed in double quotes", aws.posts[0].json()["errorMessage"])
        self.assertIn("Expecting property name enclosed in double quotes", ours.posts[0].json()["errorMessage"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
