import socket
from datetime import datetime, timezone

import asyncssh
import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.sftp import check_sftp, upload_via_sftp
from reports_pipeline_tests.sftp_server import SftpTestServer

NOW = datetime(2026, 11, 3, 9, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def sftp_server():
    with SftpTestServer() as server:
        yield server


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "report_2026-11-02.csv"
    path.write_bytes(b"region,sales\n" + b"north,1\n" * 50_000)
    return path


def _other_host_key() -> str:
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    return " ".join(key.split()[:2])


def _changes(server):
    return [event for event in server.events if event[0] != "login"]


def test_password_upload_writes_the_file_and_returns_a_receipt(sftp_server, report):
    receipt = upload_via_sftp(report, "/outbound/report.csv", sftp_server.settings())

    assert sftp_server.path("/outbound/report.csv").read_bytes() == report.read_bytes()
    assert receipt.details == {
        "host": "127.0.0.1",
        "port": sftp_server.port,
        "remote_path": "/outbound/report.csv",
        "bytes": report.stat().st_size,
    }
    assert "/outbound/report.csv" in receipt.summary


@pytest.mark.parametrize(
    ("algorithm", "key_format", "passphrase"),
    [
        ("ssh-ed25519", "openssh", None),
        ("ssh-ed25519", "openssh", "key-passphrase"),
        ("ssh-rsa", "pkcs1-pem", None),
        ("ssh-rsa", "pkcs8-pem", "key-passphrase"),
        ("ecdsa-sha2-nistp256", "pkcs1-pem", None),
        ("ecdsa-sha2-nistp384", "openssh", None),
    ],
)
def test_private_key_login(sftp_server, report, algorithm, key_format, passphrase):
    key = sftp_server.new_client_key(algorithm, key_format, passphrase)
    settings = sftp_server.settings(
        password=None, private_key=key, private_key_passphrase=passphrase
    )

    upload_via_sftp(report, "/report.csv", settings)

    assert sftp_server.path("/report.csv").read_bytes() == report.read_bytes()


def test_private_key_with_escaped_newlines_from_an_env_var(sftp_server, report):
    escaped = sftp_server.client_private_key.strip().replace("\n", "\\n")

    upload_via_sftp(report, "/report.csv", sftp_server.settings(password=None, private_key=escaped))

    assert sftp_server.path("/report.csv").exists()


def test_missing_directories_are_created(sftp_server, report):
    upload_via_sftp(report, "/outbound/acme/2026/11/report.csv", sftp_server.settings())

    assert sftp_server.path("/outbound/acme/2026/11/report.csv").is_file()
    assert [event for event in _changes(sftp_server) if event[0] == "mkdir"] == [
        ("mkdir", "/outbound"),
        ("mkdir", "/outbound/acme"),
        ("mkdir", "/outbound/acme/2026"),
        ("mkdir", "/outbound/acme/2026/11"),
    ]


def test_relative_paths_start_in_the_login_directory(sftp_server, report):
    upload_via_sftp(report, "outbound/report.csv", sftp_server.settings())

    assert sftp_server.path("/outbound/report.csv").is_file()


@pytest.mark.parametrize("path", ["outbound/../../report.csv", "/outbound/../../etc/x.csv"])
def test_a_path_that_climbs_out_is_refused_and_nothing_is_written(sftp_server, report, path):
    with pytest.raises(PermanentDeliveryError, match="contains '..' once rendered: refused"):
        upload_via_sftp(report, path, sftp_server.settings())

    assert sftp_server.files() == []


def test_bytes_go_to_a_hidden_part_file_that_is_renamed_into_place(sftp_server, report):
    upload_via_sftp(report, "/outbound/report.csv", sftp_server.settings())

    [mkdir, (_, temp), rename] = _changes(sftp_server)
    assert mkdir == ("mkdir", "/outbound")
    assert temp.startswith("/outbound/.report.csv.") and temp.endswith(".part")
    assert rename == ("posix_rename", temp, "/outbound/report.csv")
    assert sftp_server.files() == ["/outbound/report.csv"]


def test_overwrite_replaces_an_existing_file(sftp_server, report):
    sftp_server.path("/outbound").mkdir()
    sftp_server.path("/outbound/report.csv").write_bytes(b"yesterday")

    upload_via_sftp(report, "/outbound/report.csv", sftp_server.settings(), overwrite=True)

    assert sftp_server.path("/outbound/report.csv").read_bytes() == report.read_bytes()
    assert sftp_server.files() == ["/outbound/report.csv"]


def test_overwrite_without_posix_rename_moves_the_old_file_aside_first(report):
    with SftpTestServer(posix_rename=False) as server:
        server.path("/report.csv").write_bytes(b"yesterday")

        upload_via_sftp(report, "/report.csv", server.settings(), overwrite=True)

        assert server.path("/report.csv").read_bytes() == report.read_bytes()
        assert server.files() == ["/report.csv"]
        [(_, temp), aside, into_place, removed] = _changes(server)
        assert aside == ("rename", "/report.csv", f"{temp}.old")
        assert into_place == ("rename", temp, "/report.csv")
        assert removed == ("remove", f"{temp}.old")


def test_failed_rename_without_posix_rename_puts_the_old_file_back(report):
    with SftpTestServer(posix_rename=False) as server:
        server.path("/report.csv").write_bytes(b"yesterday")
        server.fail_next_renames(1, to="/report.csv")

        with pytest.raises(TransientDeliveryError, match="rename"):
            upload_via_sftp(report, "/report.csv", server.settings())

        assert server.files() == ["/report.csv"]
        assert server.path("/report.csv").read_bytes() == b"yesterday"


def test_no_overwrite_adds_a_timestamp_and_keeps_the_old_file(sftp_server, report):
    sftp_server.path("/outbound").mkdir()
    sftp_server.path("/outbound/report_2026-11-02.csv").write_bytes(b"first delivery")

    receipt = upload_via_sftp(
        report, "/outbound/report_2026-11-02.csv", sftp_server.settings(), overwrite=False, now=NOW
    )

    assert receipt.details["remote_path"] == "/outbound/report_2026-11-02_20261103T090000Z.csv"
    assert sftp_server.path("/outbound/report_2026-11-02.csv").read_bytes() == b"first delivery"
    assert (
        sftp_server.path("/outbound/report_2026-11-02_20261103T090000Z.csv").read_bytes()
        == report.read_bytes()
    )


def test_no_overwrite_keeps_the_plain_name_when_it_is_free(sftp_server, report):
    receipt = upload_via_sftp(
        report, "/report.csv", sftp_server.settings(), overwrite=False, now=NOW
    )

    assert receipt.details["remote_path"] == "/report.csv"


def test_no_overwrite_counts_up_when_the_timestamped_name_exists_too(sftp_server, report):
    settings = sftp_server.settings()
    for _ in range(3):
        upload_via_sftp(report, "/report.csv.gz", settings, overwrite=False, now=NOW)

    assert sftp_server.files() == [
        "/report.csv.gz",
        "/report_20261103T090000Z-2.csv.gz",
        "/report_20261103T090000Z.csv.gz",
    ]


def test_host_key_may_be_given_as_a_known_hosts_line(sftp_server, report):
    settings = sftp_server.settings(host_key=f"sftp.partner.example {sftp_server.host_key}")

    upload_via_sftp(report, "/report.csv", settings)

    assert sftp_server.path("/report.csv").exists()


def test_known_hosts_file_is_used(sftp_server, report, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sftp_server.port} {sftp_server.host_key}\n")

    upload_via_sftp(
        report, "/report.csv", sftp_server.settings(host_key=None, known_hosts=str(known_hosts))
    )

    assert sftp_server.path("/report.csv").exists()


def test_unknown_host_key_is_refused_before_logging_in(sftp_server, report, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"other.example {_other_host_key()}\n")
    settings = sftp_server.settings(host_key=None, known_hosts=str(known_hosts))

    with pytest.raises(PermanentDeliveryError) as caught:
        upload_via_sftp(report, "/report.csv", settings)

    message = str(caught.value)
    assert f"[127.0.0.1]:{sftp_server.port}" in message
    assert sftp_server.host_key_fingerprint in message
    assert "set host_key" in message
    assert sftp_server.events == []  # not even a login: the password was never sent
    assert sftp_server.files() == []


def test_mismatching_host_key_is_refused(sftp_server, report):
    with pytest.raises(PermanentDeliveryError) as caught:
        upload_via_sftp(report, "/report.csv", sftp_server.settings(host_key=_other_host_key()))

    assert sftp_server.host_key_fingerprint in str(caught.value)
    assert "host_key" in str(caught.value)
    assert sftp_server.events == []


def test_no_host_key_at_all_is_a_settings_error(sftp_server, report):
    with pytest.raises(PermanentDeliveryError, match="no host_key configured"):
        upload_via_sftp(report, "/report.csv", sftp_server.settings(host_key=None))

    assert sftp_server.events == []


@pytest.mark.parametrize(
    "host_key", ["ssh-ed25519 !!!", "ssh-rsa AAAAB3NzaC1yc2E=", "sftp.partner.example"]
)
def test_garbled_host_key_is_a_settings_error(sftp_server, report, host_key):
    with pytest.raises(PermanentDeliveryError, match="host_key .* is not a public key line"):
        upload_via_sftp(report, "/report.csv", sftp_server.settings(host_key=host_key))

    assert sftp_server.events == []


def test_wrong_password_is_permanent_and_never_shown(sftp_server, report):
    settings = sftp_server.settings(password="wrong-horse-battery")

    with pytest.raises(PermanentDeliveryError) as caught:
        upload_via_sftp(report, "/report.csv", settings)

    assert str(caught.value).startswith(
        f"SFTP login refused for user reports at 127.0.0.1:{sftp_server.port}"
    )
    assert "wrong-horse-battery" not in str(caught.value)
    assert "wrong-horse-battery" not in repr(caught.value)
    assert "wrong-horse-battery" not in repr(settings)
    assert sftp_server.files() == []


def test_unauthorized_key_is_refused(sftp_server, report):
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    settings = sftp_server.settings(password=None, private_key=key)

    with pytest.raises(PermanentDeliveryError, match="SFTP login refused for user reports"):
        upload_via_sftp(report, "/report.csv", settings)

    assert "PRIVATE KEY" not in repr(settings)


@pytest.mark.parametrize("passphrase", [None, "wrong-passphrase"])
def test_encrypted_key_without_the_right_passphrase_is_a_settings_error(
    sftp_server, report, passphrase
):
    key = sftp_server.new_client_key(passphrase="right-passphrase")
    settings = sftp_server.settings(
        password=None, private_key=key, private_key_passphrase=passphrase
    )

    with pytest.raises(PermanentDeliveryError, match="private_key .* cannot be loaded") as caught:
        upload_via_sftp(report, "/report.csv", settings)

    assert "right-passphrase" not in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)
    assert sftp_server.events == []


def test_server_down_is_transient(report):
    server = SftpTestServer().start()
    settings = server.settings()
    server.stop()

    with pytest.raises(TransientDeliveryError, match=f"127.0.0.1:{settings.port}"):
        upload_via_sftp(report, "/report.csv", settings)


def test_server_that_never_answers_is_transient(sftp_server, report):
    with socket.socket() as silent:  # accepts TCP connections (backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings = sftp_server.settings(port=silent.getsockname()[1], timeout=0.5)

        with pytest.raises(TransientDeliveryError, match="SSH handshake failed"):
            upload_via_sftp(report, "/report.csv", settings)


def test_connection_dropped_on_accept_is_transient(sftp_server, report):
    sftp_server.drop_next_connections(1)

    with pytest.raises(TransientDeliveryError):
        upload_via_sftp(report, "/report.csv", sftp_server.settings())

    upload_via_sftp(report, "/report.csv", sftp_server.settings())
    assert sftp_server.path("/report.csv").exists()


def test_connection_dropped_during_login_is_transient_not_a_refused_login(sftp_server, report):
    sftp_server.drop_next_logins(1)

    with pytest.raises(TransientDeliveryError, match="closed the connection during login"):
        upload_via_sftp(report, "/report.csv", sftp_server.settings())

    upload_via_sftp(report, "/report.csv", sftp_server.settings())
    assert sftp_server.path("/report.csv").read_bytes() == report.read_bytes()


def test_connection_dropped_while_writing_never_leaves_a_partial_final_file(sftp_server, report):
    sftp_server.path("/report.csv").write_bytes(b"yesterday")
    sftp_server.drop_next_writes(1)

    with pytest.raises(TransientDeliveryError):
        upload_via_sftp(report, "/report.csv", sftp_server.settings())

    assert sftp_server.path("/report.csv").read_bytes() == b"yesterday"
    upload_via_sftp(report, "/report.csv", sftp_server.settings())
    assert sftp_server.path("/report.csv").read_bytes() == report.read_bytes()


def test_failed_rename_is_transient_and_removes_the_part_file(sftp_server, report):
    sftp_server.path("/report.csv").write_bytes(b"yesterday")
    sftp_server.fail_next_renames(2)  # posix-rename, then the plain rename fallback

    with pytest.raises(TransientDeliveryError, match="rename"):
        upload_via_sftp(report, "/report.csv", sftp_server.settings())

    assert sftp_server.files() == ["/report.csv"]
    assert sftp_server.path("/report.csv").read_bytes() == b"yesterday"


def test_permission_denied_is_permanent(sftp_server, report):
    sftp_server.path("/readonly").mkdir()
    sftp_server.deny_writes("/readonly")

    with pytest.raises(PermanentDeliveryError, match="denied permission to write /readonly/"):
        upload_via_sftp(report, "/readonly/report.csv", sftp_server.settings())

    assert sftp_server.files() == []


def test_a_directory_in_the_way_is_permanent_and_left_alone(sftp_server, report):
    sftp_server.path("/report.csv").mkdir()
    sftp_server.path("/report.csv/keep.txt").write_bytes(b"keep")

    with pytest.raises(PermanentDeliveryError, match="/report.csv is a directory"):
        upload_via_sftp(report, "/report.csv", sftp_server.settings())

    assert sftp_server.files() == ["/report.csv/keep.txt"]


def test_a_file_where_a_directory_should_be_is_permanent(sftp_server, report):
    sftp_server.path("/outbound").write_bytes(b"not a folder")

    with pytest.raises(PermanentDeliveryError, match="/outbound exists and is not a directory"):
        upload_via_sftp(report, "/outbound/report.csv", sftp_server.settings())


def test_missing_local_file_is_permanent(sftp_server, tmp_path):
    with pytest.raises(PermanentDeliveryError, match="cannot read"):
        upload_via_sftp(tmp_path / "missing.csv", "/report.csv", sftp_server.settings())


def test_check_sftp_logs_in_and_leaves_nothing_behind(sftp_server):
    sftp_server.path("/outbound").mkdir()

    description = check_sftp(sftp_server.settings(), "/outbound")

    assert description.startswith(f"sftp reports@127.0.0.1:{sftp_server.port}")
    assert "/outbound is writable" in description
    assert sftp_server.host_key_fingerprint in description
    assert "\n" not in description
    assert sftp_server.files() == []
    assert [event[0] for event in _changes(sftp_server)] == ["open", "remove"]


def test_check_sftp_on_a_missing_directory_probes_its_parent(sftp_server):
    description = check_sftp(sftp_server.settings(), "/outbound/acme")

    assert "/outbound/acme will be created in writable /" in description
    assert not sftp_server.path("/outbound").exists()


def test_check_sftp_reports_a_read_only_directory(sftp_server):
    sftp_server.path("/readonly").mkdir()
    sftp_server.deny_writes("/readonly")

    with pytest.raises(PermanentDeliveryError, match="denied permission"):
        check_sftp(sftp_server.settings(), "/readonly")


def test_check_sftp_reports_a_refused_login(sftp_server):
    with pytest.raises(PermanentDeliveryError, match="SFTP login refused"):
        check_sftp(sftp_server.settings(password="nope"), ".")
