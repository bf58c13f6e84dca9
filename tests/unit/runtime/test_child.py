"""The execution child's warm-up: decoding a request before the real one comes."""

import json

from qinling_lite.runtime import child, protocol


def test_the_warm_up_request_is_one_the_protocol_accepts_as_it_is():
    request = protocol.EXECUTE_REQUEST.from_json(child.WARM_UP_REQUEST)
    # Every field is given: no default is filled in, so decoding it runs the whole path.
    assert request == json.loads(child.WARM_UP_REQUEST)


def test_the_warm_up_writes_nothing(capfd):
    child._warm_up()
    assert capfd.readouterr() == ("", "")
