"""The ``openstack`` commands of the function engine (service type ``function-engine``)."""
