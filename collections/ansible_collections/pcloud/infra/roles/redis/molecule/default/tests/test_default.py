"""The redis role: one instance per project-env, password required, given as a file."""


def test_instance(host):
    assert host.socket("tcp://0.0.0.0:6991").is_listening
    name = host.check_output("docker ps --format '{{.Names}}' --filter name=-mol-prod-redis")
    out = host.check_output("docker exec %s sh -c 'redis-cli -p 6991 ping; redis-cli -p 6991 "
                            "-a $(cat /run/secrets/redis_password) --no-auth-warning ping'" % name)
    assert out.split() == ["NOAUTH", "Authentication", "required.", "PONG"]
