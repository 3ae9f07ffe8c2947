"""A TF_CONFIG that cannot describe a cluster is one `ValueError` line naming TF_CONFIG and
the problem, raised by `choose_strategy` before TensorFlow sets anything up."""

import json

import pytest

from kerasnotes.training.strategy import choose_strategy


def cluster(workers, task_type="worker", index=0):
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": task_type,
                                                               "index": index}})


@pytest.mark.parametrize(
    "tf_config, message",
    [
        ("{cluster: 1}", r"TF_CONFIG: not valid JSON \(Expecting property name"),
        ("[1, 2]", r"TF_CONFIG: must be a JSON object; received '\[1, 2\]'"),
        ('{"cluster": ["127.0.0.1:2222"]}', r'TF_CONFIG: "cluster" must be an object of job '),
        (cluster("127.0.0.1:2222"), r'TF_CONFIG: cluster.worker must be a list of "host:port" '
                                    r'addresses; received the string "127.0.0.1:2222" \(write '
                                    r'\["127.0.0.1:2222"\]\)'),
        (cluster(["127.0.0.1:2222", "127.0.0.1:99999"]),
         r"TF_CONFIG: cluster.worker\[1\] must be \"host:port\" with a port in 1..65535; "
         r"received '127.0.0.1:99999'"),
        (cluster(["127.0.0.1:http"]), r"cluster.worker\[0\] must be \"host:port\""),
        (cluster(["127.0.0.1"]), r"cluster.worker\[0\] must be \"host:port\""),
        (cluster([2222]), r"cluster.worker\[0\] must be a \"host:port\" string; received 2222"),
        (cluster([]), r"TF_CONFIG: cluster.worker lists no address"),
        ('{"cluster": {}, "task": {"type": "worker", "index": 0}}',
         r'TF_CONFIG: "cluster" is empty'),
        (cluster(["a:1", "b:2"], index=2),
         r"TF_CONFIG: task index 2 is not a task of job 'worker' \(it has 2: indexes 0, 1\)"),
        (cluster(["a:1", "b:2"], index="0"), r"TF_CONFIG: task index '0' is not a task"),
        (cluster(["a:1", "b:2"], task_type="chief"),
         r"TF_CONFIG: task type 'chief' is not a job of the cluster \('worker'\)"),
        ('{"cluster": {"worker": ["a:1"]}, "task": "worker"}',
         r'TF_CONFIG: "task" must be an object with a "type" and an "index"'),
    ],
)
def test_a_bad_tf_config_is_one_line_naming_it(monkeypatch, tf_config, message):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    for name in ("auto", "multi_worker", "default"):
        with pytest.raises(ValueError, match=message) as raised:
            choose_strategy(name)
        assert "\n" not in str(raised.value)


def test_good_tf_configs_pass_the_checks(monkeypatch):
    for tf_config in ("", "{}", cluster(["a:1"]),
                      cluster(["[::1]:2222", "host.example:80"], index=1),
                      '{"cluster": {"worker": {"0": "a:1", "3": "b:2"}}, '
                      '"task": {"type": "worker", "index": 3}}'):
        monkeypatch.setenv("TF_CONFIG", tf_config)
        assert choose_strategy("default") is not None
