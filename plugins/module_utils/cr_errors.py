# -*- coding: utf-8 -*-
# Copyright: fleetpatch.hybrid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error hierarchy for change requests: every failure a module can meet, as one clear message.

Pure Python, no Ansible import. Modules turn a CRError into fail_json(**error.fail_kwargs()).
"""

from __future__ import annotations


class CRError(Exception):
    """Base of every change-request failure; the message names what to check or fix."""

    kind = "error"

    def __init__(self, message, **details):
        super(CRError, self).__init__(message)
        self.message = message
        self.details = dict((k, v) for k, v in details.items() if v is not None)

    def fail_kwargs(self):
        """The keyword arguments for AnsibleModule.fail_json."""
        out = dict(msg=self.message, error_kind=self.kind)
        out.update(self.details)
        return out


class CRValidationError(CRError):
    """Bad input: an option is missing, malformed or not allowed; names the option and the fix."""

    kind = "validation"


class CRNotFoundError(CRError):
    """A change request (or the API endpoint holding it) does not exist."""

    kind = "not_found"


class CRTransitionError(CRError):
    """A state change the state model (ours or the instance's) does not allow."""

    kind = "transition"


class CRAuthError(CRError):
    """The service refused the credentials (401) or the account's rights (403)."""

    kind = "auth"


class CRBackendError(CRError):
    """The service failed or answered something we cannot use (5xx after retries, bad JSON, TLS)."""

    kind = "backend"
