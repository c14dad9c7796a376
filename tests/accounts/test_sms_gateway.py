"""SMS backends: the HTTP gateway against a local fake gateway, and the console, file and in-memory backends."""

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts import sms

PHONE = "+77011235678"
MASKED = "+7701***5678"
TEXT = "INDIGO: your login code is 123456. Do not tell it to anyone."


class FakeGateway:
    """An operator's gateway on 127.0.0.1: remembers every request and answers with `status`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 202
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                body = json.dumps({"id": "msg-1"} if gateway.status < 300 else {"error": "refused"}).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def gateway(settings):
    with FakeGateway() as fake:
        settings.SMS_BACKEND = "accounts.sms.HttpGatewayBackend"
        settings.SMS_GATEWAY_URL = fake.url
        settings.SMS_GATEWAY_TOKEN = "s3cret-token"
        settings.SMS_GATEWAY_SENDER = "INDIGO"
        settings.SMS_GATEWAY_TIMEOUT = 5.0
        yield fake


def test_gateway_receives_json_with_the_bearer_token(gateway):
    sms.sms_send(phone=PHONE, text=TEXT)

    (request,) = gateway.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(request["body"].decode()) == {"to": PHONE, "text": TEXT, "sender": "INDIGO"}


def test_gateway_refusal_raises_and_logs_the_phone_masked(gateway, caplog):
    gateway.status = 500
    with caplog.at_level(logging.INFO, logger="accounts.sms"), pytest.raises(sms.SmsDeliveryError):
        sms.sms_send(phone=PHONE, text=TEXT)

    assert len(gateway.requests) == 1
    assert MASKED in caplog.text and "500" in caplog.text
    assert PHONE not in caplog.text and "123456" not in caplog.text and "s3cret-token" not in caplog.text


def test_gateway_client_error_raises(gateway):
    gateway.status = 401
    with pytest.raises(sms.SmsDeliveryError, match="401"):
        sms.sms_send(phone=PHONE, text=TEXT)


def test_unreachable_gateway_raises(settings, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SMS_BACKEND = "accounts.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{port}/v1/sms"
    settings.SMS_GATEWAY_TIMEOUT = 2.0
    with caplog.at_level(logging.ERROR, logger="accounts.sms"), pytest.raises(sms.SmsDeliveryError):
        sms.sms_send(phone=PHONE, text=TEXT)
    assert MASKED in caplog.text and PHONE not in caplog.text


def test_gateway_without_a_url_raises(settings):
    settings.SMS_BACKEND = "accounts.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(sms.SmsDeliveryError):
        sms.sms_send(phone=PHONE, text=TEXT)


def test_console_backend_prints_the_code_with_the_phone_masked(settings, capsys):
    settings.SMS_BACKEND = "accounts.sms.ConsoleBackend"
    sms.sms_send(phone=PHONE, text=TEXT)
    assert capsys.readouterr().out == f"SMS to {MASKED}: {TEXT}\n"


def test_file_backend_appends_one_line_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "accounts.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    sms.sms_send(phone=PHONE, text=TEXT)
    sms.sms_send(phone="+77010000000", text="second")
    lines = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1:] for line in lines] == [[PHONE, TEXT], ["+77010000000", "second"]]


def test_locmem_backend_keeps_messages_in_the_outbox():
    sms.outbox.clear()
    sms.sms_send(phone=PHONE, text=TEXT)
    assert sms.outbox == [sms.SmsMessage(phone=PHONE, text=TEXT)]
    sms.outbox.clear()


def test_mask_phone_keeps_the_operator_prefix_and_the_last_four_digits():
    assert sms.mask_phone(PHONE) == MASKED
    assert sms.mask_phone("") == "***"
