"""The postgres role: one instance per project-env, on its port, password as a file."""

import pytest

INSTANCES = [("mol-prod", 5991, "user_1", "mol_prod_1"), ("mol-uat", 5992, "user_2", "mol_uat_2")]


@pytest.mark.parametrize("key, port, user, db", INSTANCES)
def test_instance(host, key, port, user, db):
    assert host.socket("tcp://0.0.0.0:%d" % port).is_listening
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=-%s-database" % key)
    login = host.run("docker exec %s sh -c 'PGPASSWORD=$(cat /run/secrets/db_password) psql -h 127.0.0.1 -p %d -U %s "
                     "-d %s -tAc \"select current_user\"'" % (name, port, user, db))
    assert login.rc == 0 and login.stdout.strip() == user
    assert host.check_output("docker exec %s stat -c %%a /run/secrets/db_password" % name) == "400"
    assert "db_password=" not in host.check_output("docker inspect %s" % name).lower()
