"""Schemathesis hooks for .ci/schemathesis.sh: give generated bodies the ids of rows that exist.

The OpenAPI document states what a request must look like; it cannot state which rows exist.
An id in a body that names no row (a random owner_id, a task's related_id, ...) is a 422 naming
the field, which tests/api covers. So, in every request the document calls valid, the
references are replaced with the ids of rows the script created before the run (exported as
RIVET_FUZZ_*), in every phase. Requests meant to be invalid are left as generated, so their
mutation is what the server sees.
"""

import os
import uuid

import schemathesis
from hypothesis import strategies as st

USER = os.environ.get("RIVET_FUZZ_USER_ID")
ACCOUNT = os.environ.get("RIVET_FUZZ_ACCOUNT_ID")
IDS = {
    "owner_id": USER,
    "assignee_id": USER,
    "manager_id": USER,
    "role_id": os.environ.get("RIVET_FUZZ_ROLE_ID"),
    "team_id": os.environ.get("RIVET_FUZZ_TEAM_ID"),
    "account_id": ACCOUNT,
    "contact_id": os.environ.get("RIVET_FUZZ_CONTACT_ID"),
    "economic_buyer_contact_id": os.environ.get("RIVET_FUZZ_CONTACT_ID"),
    "champion_contact_id": os.environ.get("RIVET_FUZZ_CONTACT_ID"),
    "pipeline_id": os.environ.get("RIVET_FUZZ_PIPELINE_ID"),
    "stage_id": os.environ.get("RIVET_FUZZ_STAGE_ID"),
    "parent_id": os.environ.get("RIVET_FUZZ_PARENT_ID"),
    "reassign_to": ACCOUNT,
    "related_id": ACCOUNT,
    "record_id": ACCOUNT,
}
# A related_id or a link's record_id names an account, so its type says so.
TYPES = {"related_type": "account", "record_type": "account"}


def with_real_ids(value, path=""):
    """`value` with every reference that holds an id replaced by a real one (in place)."""
    if isinstance(value, dict):
        for key, item in list(value.items()):
            if key in IDS and isinstance(item, str) and IDS[key]:
                value[key] = IDS[key]
            elif key in TYPES and isinstance(item, str) and ("related_id" in value or "record_id" in value):
                value[key] = TYPES[key]
            elif key == "custom_fields" and isinstance(item, dict):
                # The company's custom fields are definitions the run does not know: none.
                value[key] = {}
            else:
                with_real_ids(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            with_real_ids(item, path)
    return value


FIXTURES = {v for k, v in os.environ.items() if k.startswith("RIVET_FUZZ_") and k.endswith("_ID") and v}


def spare_fixtures(case):
    """A request that would delete or deactivate a row the run relies on names no row instead."""
    method = case.operation.method.upper()
    if case.path_parameters and (method == "DELETE" or case.operation.path == "/api/v1/users/{id}"):
        for name, value in list(case.path_parameters.items()):
            if isinstance(value, str) and value in FIXTURES:
                case.path_parameters[name] = str(uuid.uuid4())
    if isinstance(case.body, dict) and isinstance(case.body.get("ids"), list) and case.operation.path.endswith("/bulk-delete"):
        case.body["ids"] = [str(uuid.uuid4()) if isinstance(i, str) and i in FIXTURES else i for i in case.body["ids"]]


@schemathesis.hook
def before_call(context, case, kwargs):
    spare_fixtures(case)
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    with_real_ids(case.body)
    if context.operation.path == "/api/v1/custom-fields" or context.operation.path.startswith("/api/v1/custom-fields/"):
        # A required custom field would make every later create of its record type a 422 for
        # want of a value the run cannot know; the rule itself is tested in tests/api.
        if case.body.get("required") is True:
            case.body["required"] = False


# The inbound e-mail endpoint takes a raw message (message/rfc822), which schemathesis cannot
# make from a schema: give it small messages, well formed or not (the signature check comes
# first, so each is a 401 unless signed).
schemathesis.openapi.media_type(
    "message/rfc822",
    st.builds(
        lambda subject, body: (
            f"From: someone@example.com\r\nTo: inbound@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <fuzz@example.com>\r\n\r\n{body}\r\n"
        ).encode("utf-8", "replace"),
        st.text(max_size=40).map(lambda s: s.replace("\r", " ").replace("\n", " ")),
        st.text(max_size=200),
    )
    | st.binary(max_size=200),
)
