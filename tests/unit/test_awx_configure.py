"""playbooks/awx_configure.yml against the awx.awx modules' own argument specs (no AWX server runs here).

Each awx.awx task's arguments go through ansible-core's ArgumentSpecValidator with the module's spec as
its main() builds it (captured from ControllerAPIModule, with the auth options it adds and the
mutually_exclusive / required_if rules it passes): unknown or misspelt options, missing required
ones, wrong types and choices fail here. A templated value stands in as a value of the option's type.
Also: the workflow's nodes point at job templates the playbook creates, and each credential type's
injectors use only its own input fields.
"""

import importlib
import os
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "playbooks", "awx_configure.yml")
PLACEHOLDER = {"str": "templated", "int": 1, "float": 1.0, "bool": True, "list": ["templated"], "dict": {"k": "v"},
               "raw": "templated", "path": "/templated", "jsonarg": "{}", "json": "{}"}


class Captured(Exception):
    def __init__(self, spec, kwargs):
        super().__init__("captured")
        self.spec = spec
        self.kwargs = kwargs


def spec_of(module_name):
    """The argument spec an awx.awx module's main() hands ControllerAPIModule, with the auth options."""
    controller = importlib.import_module("ansible_collections.awx.awx.plugins.module_utils.controller_api")
    module = importlib.import_module("ansible_collections.awx.awx.plugins.modules." + module_name)
    cls = module.ControllerAPIModule

    def capture(self, argument_spec=None, **kwargs):
        spec = dict(controller.ControllerModule.AUTH_ARGSPEC)
        spec.update(argument_spec or {})
        raise Captured(spec, kwargs)

    original = cls.__init__
    cls.__init__ = capture
    try:
        with pytest.raises(Captured) as got:
            module.main()
    finally:
        cls.__init__ = original
    return got.value.spec, got.value.kwargs


def tasks():
    with open(PLAYBOOK) as handle:
        plays = yaml.safe_load(handle)
    return [task for play in plays for task in play["tasks"]]


def awx_tasks():
    found = []
    for task in tasks():
        modules = [key for key in task if key.startswith("awx.awx.")]
        if modules:
            found.append((task["name"], modules[0][len("awx.awx."):], task[modules[0]]))
    return found


def stand_in(value, option):
    """A templated value becomes a value of the option's type; literal values are kept."""
    if isinstance(value, str) and "{{" in value:
        return PLACEHOLDER[option.get("type", "str")]
    if isinstance(value, dict) and option.get("options"):
        return {k: stand_in(v, option["options"].get(k, {})) for k, v in value.items()}
    if isinstance(value, list) and option.get("options"):
        return [stand_in(item, {"type": "dict", "options": option["options"]}) for item in value]
    return value


def test_the_playbook_configures_what_the_issue_lists():
    modules = [module for dummy, module, dummy2 in awx_tasks()]
    for needed in ("credential_type", "execution_environment", "project", "inventory", "inventory_source", "job_template",
                   "workflow_job_template", "schedule"):
        assert needed in modules, needed
    names = [args["name"] for dummy, module, args in awx_tasks() if module == "credential_type"]
    assert names == ["fleetpatch ServiceNow", "fleetpatch Jira", "fleetpatch webhooks", "fleetpatch SMTP"]


@pytest.mark.parametrize("name,module,args", awx_tasks(), ids=[t[0][:60] for t in awx_tasks()])
def test_every_awx_task_passes_the_modules_argument_spec(name, module, args):
    spec, kwargs = spec_of(module)
    unknown = sorted(set(args) - set(spec) - {a for o in spec.values() for a in o.get("aliases", [])})
    assert unknown == [], "%s: awx.awx.%s has no option(s) %s" % (name, module, unknown)
    checked = {key: stand_in(value, spec.get(key, {})) for key, value in args.items()}
    rule_names = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")
    rules = {k: v for k, v in kwargs.items() if k in rule_names}
    result = ArgumentSpecValidator(spec, **rules).validate(checked)
    assert result.error_messages == [], "%s: %s" % (name, result.error_messages)


def test_workflow_nodes_point_at_the_job_templates_created():
    templates = set()
    for task in tasks():
        if "awx.awx.job_template" in task:
            templates.update(item["name"] for item in task["loop"])
    workflow = [args for dummy, module, args in awx_tasks() if module == "workflow_job_template"][0]
    identifiers = {node["identifier"] for node in workflow["workflow_nodes"]}
    for node in workflow["workflow_nodes"]:
        target = node["unified_job_template"]
        if target["type"] == "job_template":
            assert target["name"] in templates, target
        else:
            assert target["type"] == "workflow_approval" and target.get("timeout")
        for kind in ("success_nodes", "failure_nodes", "always_nodes"):
            for child in node.get("related", {}).get(kind, []):
                assert child["identifier"] in identifiers
    order = [node["identifier"] for node in workflow["workflow_nodes"]]
    assert order == ["impending", "dev", "approve", "prod", "report"]
    prod = workflow["workflow_nodes"][3]
    assert "fleetpatch_result_run_id" in prod["extra_data"]["fleetpatch_promote_from"]  # the Dev night's set_stats


def test_credential_type_injectors_use_their_own_fields():
    for _name, module, args in awx_tasks():
        if module != "credential_type":
            continue
        fields = {field["id"] for field in args["inputs"]["fields"]}
        for target in args["injectors"].values():
            for value in target.values():
                used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", value))
                assert used <= fields, (args["name"], used - fields)
