"""``manage.py webhook_receiver`` and the NetBox-compatible output it prints."""

from __future__ import annotations

import errno
import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
import requests
from django.core.management import CommandError, call_command

from webhooks_app.choices import SIGNATURE_HEADER
from webhooks_app.receiver import Receiver
from webhooks_app.signing import generate_signature, generate_standard_signature

REPOSITORY = Path(__file__).resolve().parent.parent
SECRET = "s"
DATE = r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT"
FOOTER = ["Completed request #1", "------------"]


def wait_for_text(read: Callable[[], str], text: str, timeout: float = 5.0) -> str:
    """Poll ``read()`` until its result contains ``text`` (output comes after the answer)."""
    deadline = time.monotonic() + timeout
    while text not in (value := read()):
        assert time.monotonic() < deadline, f"{text!r} never appeared in output:\n{value}"
        time.sleep(0.01)
    return value


def post(receiver: Receiver, body: bytes, headers: dict[str, str] | None = None) -> None:
    headers = {"Content-Type": "application/json", **(headers or {})}
    requests.post(receiver.url + "hooks/", data=body, headers=headers, timeout=5)


def printed(
    body: bytes, headers: dict[str, str] | None = None, *, secret: str | list[str] | None = None
) -> list[str]:
    """The lines the receiver prints for one POST of ``body`` with ``headers``."""
    output = io.StringIO()
    with Receiver(output=output, secret=secret, show_headers=False) as receiver:
        post(receiver, body, headers)
        text = wait_for_text(output.getvalue, "------------\n")
    lines = text.splitlines()
    assert re.fullmatch(rf'\[1\] {DATE} 127\.0\.0\.1 "POST /hooks/ HTTP/1\.1" 200 -', lines[0])
    return lines[1:]


def test_output_shows_request_line_headers_pretty_json_and_footer() -> None:
    output = io.StringIO()
    with Receiver(output=output) as receiver:
        body = b'{"event": "created", "data": {"id": 1}}'
        requests.post(
            receiver.url + "hooks/?x=1",
            data=body,
            headers={"Content-Type": "application/json", "X-Custom": "yes"},
            timeout=5,
        )
        text = wait_for_text(output.getvalue, "------------\n")

    first, *rest = text.splitlines()
    assert re.fullmatch(rf'\[1\] {DATE} 127\.0\.0\.1 "POST /hooks/\?x=1 HTTP/1\.1" 200 -', first)
    headers = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in rest[: rest.index("")]}
    assert headers["Host"] == f"127.0.0.1:{receiver.port}"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Custom"] == "yes"
    assert headers["Content-Length"] == str(len(body))
    body_lines = rest[rest.index("") + 1 :]
    assert body_lines == [
        "{",
        '    "event": "created",',
        '    "data": {',
        '        "id": 1',
        "    }",
        "}",
        *FOOTER,
    ]


def test_output_numbers_requests_per_receiver() -> None:
    output = io.StringIO()
    with Receiver(output=output, show_headers=False) as receiver:
        for _ in range(2):
            requests.get(receiver.url, timeout=5)
        text = wait_for_text(output.getvalue, "Completed request #2")

    assert [line[:3] for line in text.splitlines() if line.startswith("[")] == ["[1]", "[2]"]
    assert "(No body)\nCompleted request #1\n------------\n" in text


def test_output_pretty_prints_any_plus_json_content_type() -> None:
    lines = printed(b'{"a":1}', {"Content-Type": "application/vnd.api+json; charset=utf-8"})

    assert lines == ["{", '    "a": 1', "}", *FOOTER]


def test_output_notes_invalid_json_and_shows_the_raw_text() -> None:
    lines = printed(b'{"a": oops}')

    assert lines[0].startswith("Invalid JSON: Expecting value: line 1 column 7")
    assert lines[1:] == ['{"a": oops}', *FOOTER]


def test_output_prints_text_bodies_as_text() -> None:
    lines = printed(b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"})

    assert lines == ["a=1&b=2", *FOOTER]


def test_output_describes_binary_bodies_instead_of_printing_them() -> None:
    lines = printed(b"\xff\xfe\x00", {"Content-Type": "application/octet-stream"})

    assert lines == ["(3 bytes of binary data)", *FOOTER]


def test_output_shows_no_body_marker() -> None:
    assert printed(b"") == ["(No body)", *FOOTER]


@pytest.mark.parametrize(
    ("signature", "verdict"),
    [(generate_signature(b"{}", SECRET), "valid"), ("0" * 128, "INVALID"), (None, "missing")],
)
def test_output_reports_the_hook_signature(signature: str | None, verdict: str) -> None:
    headers = {} if signature is None else {SIGNATURE_HEADER: signature}

    lines = printed(b"{}", headers, secret=SECRET)

    assert lines == ["{}", f"Signature: {verdict}", *FOOTER]


@pytest.mark.parametrize(("secret", "verdict"), [(SECRET, "valid"), ("wrong", "INVALID")])
def test_output_reports_the_standard_webhooks_signature(secret: str, verdict: str) -> None:
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": generate_standard_signature("msg_1", now, b"{}", secret),
    }

    lines = printed(b"{}", headers, secret=SECRET)

    assert lines == ["{}", "Signature: missing", f"Standard Webhooks signature: {verdict}", *FOOTER]


def test_output_has_no_signature_lines_without_a_secret() -> None:
    assert printed(b"{}", {SIGNATURE_HEADER: "abc"}) == ["{}", *FOOTER]


@pytest.mark.parametrize(
    ("secrets", "signed_with", "verdict"),
    [
        (["new"], "new", "valid"),  # switched: the new secret made X-Hook-Signature-Next
        (["old"], "new", "valid"),  # not switched yet: the old one made X-Hook-Signature
        (["new", "old"], "new", "valid"),
        (["other"], "new", "INVALID"),
    ],
)
def test_during_an_overlap_any_of_the_secrets_may_have_made_either_signature(
    secrets: list[str], signed_with: str, verdict: str
) -> None:
    headers = {
        SIGNATURE_HEADER: generate_signature(b"{}", "old"),
        "X-Hook-Signature-Next": generate_signature(b"{}", signed_with),
    }
    assert printed(b"{}", headers, secret=secrets) == ["{}", f"Signature: {verdict}", *FOOTER]


@pytest.fixture
def serve_one_request() -> Iterator[Callable[..., str]]:
    """Run the command in-process; its server answers one POST, then stops as Ctrl-C would."""

    def serve(receiver: Receiver) -> None:
        receiver.start()
        try:
            post(receiver, b'{"a": 1}')
            wait_for_text(output.getvalue, "------------\n")
        finally:
            receiver.stop()

    output = io.StringIO()
    with mock.patch.object(Receiver, "serve_forever", autospec=True, side_effect=serve):

        def run(*args: str) -> str:
            call_command("webhook_receiver", "--port", "0", *args, stdout=output)
            return output.getvalue()

        yield run


def test_command_prints_listening_line_requests_and_exiting(
    serve_one_request: Callable[..., str],
) -> None:
    text = serve_one_request()

    lines = text.splitlines()
    assert re.fullmatch(
        r"Listening on http://127\.0\.0\.1:\d+/ \(signature check: off\)\. Stop with CONTROL-C\.",
        lines[0],
    )
    assert "Content-Type: application/json" in lines
    assert text.endswith('{\n    "a": 1\n}\nCompleted request #1\n------------\n\nExiting...\n')


def test_command_no_headers_hides_headers(serve_one_request: Callable[..., str]) -> None:
    lines = serve_one_request("--no-headers", "--secret", SECRET).splitlines()

    assert "(signature check: on)" in lines[0]
    assert lines[2:] == ["{", '    "a": 1', "}", "Signature: missing", *FOOTER, "", "Exiting..."]


def test_command_accepts_several_secrets(serve_one_request: Callable[..., str]) -> None:
    lines = serve_one_request("--no-headers", "--secret", "old", "--secret", "new").splitlines()
    assert "(signature check: on, 2 secrets)" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-rate", "1.5"], "Invalid option: fail_rate must be between 0 and 1, got 1.5."),
        (["--fail-rate", "-0.1"], "fail_rate must be between 0 and 1"),
        (["--status", "99"], "status must be between 100 and 599, got 99."),
        (["--status", "600"], "status must be between 100 and 599"),
        (["--status", "abc"], "argument --status: invalid int value: 'abc'"),
        (["--delay", "-1"], "delay must be at least 0, got -1."),
        (["--port", "70000"], "port must be between 0 and 65535"),
        (["--port", "-1"], "port must be between 0 and 65535"),
    ],
)
def test_command_rejects_invalid_options(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("webhook_receiver", *args, stdout=io.StringIO())


def test_command_reports_a_port_in_use_without_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(
            CommandError,
            match=f"Cannot listen on http://127.0.0.1:{port}/: the port is already in use",
        ):
            call_command("webhook_receiver", "--port", str(port), stdout=io.StringIO())


def test_command_reports_other_listen_errors() -> None:
    denied = OSError(errno.EACCES, "Permission denied")
    with (
        mock.patch.object(Receiver, "bind", side_effect=denied),
        pytest.raises(CommandError, match=r"Cannot listen on .*: Permission denied\."),
    ):
        call_command("webhook_receiver", "--port", "80", stdout=io.StringIO())


def read_lines_until(lines: queue.Queue[str], text: str, timeout: float = 15.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or text not in seen[-1]:
        try:
            seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
        except queue.Empty:
            raise AssertionError(f"{text!r} not printed; got: {seen}") from None
    return seen


@contextmanager
def command_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    """``manage.py webhook_receiver`` in a subprocess; its output lines (stderr included) go
    to a queue. The process is killed if the test leaves it running."""
    command = [sys.executable, "manage.py", "webhook_receiver", *args]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    with subprocess.Popen(
        command,
        cwd=REPOSITORY,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for line in process.stdout or ():
                lines.put(line)

        reader = threading.Thread(target=pump)
        reader.start()
        try:
            yield process, lines
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            reader.join()


def test_command_in_a_subprocess_prints_requests_and_exits_cleanly_on_ctrl_c() -> None:
    body = b'{"event": "created"}'
    with command_process("--port", "0", "--secret", SECRET) as (process, lines):
        listening = read_lines_until(lines, "Listening on")[-1]
        match = re.search(r"(http://127\.0\.0\.1:\d+/) \(signature check: on\)", listening)
        assert match is not None
        signature = generate_signature(body, SECRET)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        response = requests.post(match.group(1), data=body, headers=headers, timeout=5)
        printed_lines = read_lines_until(lines, "Completed request #1")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0

    assert response.text == "Webhook received!\n"
    assert "Signature: valid\n" in printed_lines
    assert list(lines.queue) == ["------------\n", "\n", "Exiting...\n"]
