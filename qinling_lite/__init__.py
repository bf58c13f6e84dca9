"""qinling-lite: a Function-as-a-Service control plane for OpenStack clouds."""
