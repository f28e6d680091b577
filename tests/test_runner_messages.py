"""How a failed task reads in the CLI: a loop names each failed item and its reason."""

from __future__ import annotations

from pcloud.runner import failure_message


def test_a_failed_loop_names_its_items():
    res = {"msg": "One or more items failed", "results": [
        {"_ansible_item_label": "backend", "changed": False},
        {"_ansible_item_label": "worker_email", "failed": True,
         "msg": "Error building pcloud/hostomatic-worker-email:abc - code: 3, message: The command "
                "'/bin/sh -c exit 3' returned a non-zero code: 3"}]}
    assert failure_message(res) == ("worker_email: Error building pcloud/hostomatic-worker-email:abc - code: 3, message: "
                                    "The command '/bin/sh -c exit 3' returned a non-zero code: 3")


def test_plain_failures_and_long_messages():
    assert failure_message({"msg": "\x1b[31mno route\x1b[0m"}) == "no route"
    assert failure_message({}) == "failed"
    long = failure_message({"msg": "x" * 1000}, limit=50)
    assert len(long) == 50 and long.endswith("...")
