"""Local stand-ins for ServiceNow, Jira, an SMTP relay and chat webhooks (127.0.0.1 only).

They enforce the documented contracts of the services the change_request and notify code talk
to (auth, required fields, state models and workflows, 429 with Retry-After, a 5xx once), so a
request the real service would reject fails the test. No real instance is reached.
"""
