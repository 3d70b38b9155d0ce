from ansible_collections.fleetpatch.hybrid.plugins.module_utils import changelog

TEXT = """openssl (3.0.15-1~deb12u2) bookworm-security; urgency=high

  * Fix X.509 name constraint bypass (CVE-2026-10001).
  * Fix timing side channel (CVE-2026-10002). DSA-6101-1

 -- Debian Security Team <team@security.debian.org>  Mon, 02 Nov 2026 09:00:00 +0000

openssl (3.0.15-1~deb12u1) bookworm; urgency=medium

  * Fix CVE-2024-9143 and CVE-2024-9143 again.

 -- Maint <m@example.org>  Tue, 01 Oct 2024 10:00:00 +0000

openssl (3.0.14-1) unstable; urgency=low

  * CVE-2023-0001, DLA-3000-1

 -- Maint <m@example.org>  Sun, 01 Sep 2024 10:00:00 +0000
"""


def test_parse_entries_newest_first():
    entries = changelog.parse_changelog(TEXT)
    assert [e["version"] for e in entries] == ["3.0.15-1~deb12u2", "3.0.15-1~deb12u1", "3.0.14-1"]
    assert entries[0]["urgency"] == "high"
    assert entries[0]["distributions"] == ["bookworm-security"]
    assert entries[0]["cves"] == ["CVE-2026-10001", "CVE-2026-10002"]
    assert entries[0]["advisories"] == ["DSA-6101-1"]
    assert entries[0]["date"] == "2026-11-02T09:00:00+00:00"
    assert entries[1]["cves"] == ["CVE-2024-9143"]


def test_summarize_takes_only_entries_newer_than_installed():
    entries = changelog.parse_changelog(TEXT)
    summary = changelog.summarize(entries, "3.0.15-1~deb12u1", "3.0.15-1~deb12u2")
    assert summary["cves"] == ["CVE-2026-10001", "CVE-2026-10002"]
    assert summary["advisories"] == ["DSA-6101-1"]
    assert summary["release_date"] == "2026-11-02T09:00:00+00:00"
    wider = changelog.summarize(entries, "3.0.14-1", "3.0.15-1~deb12u2")
    assert wider["cves"] == ["CVE-2024-9143", "CVE-2026-10001", "CVE-2026-10002"]


def test_summarize_ignores_entries_newer_than_candidate():
    entries = changelog.parse_changelog(TEXT)
    summary = changelog.summarize(entries, "3.0.14-1", "3.0.15-1~deb12u1")
    assert summary["cves"] == ["CVE-2024-9143"]


def test_limit_and_garbage():
    assert len(changelog.parse_changelog(TEXT, limit=1)) == 1
    assert changelog.parse_changelog("no changelog here\n") == []
    assert changelog.summarize([], "1", "2")["cves"] == []
