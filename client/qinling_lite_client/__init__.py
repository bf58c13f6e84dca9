"""OpenStackClient plugin for qinling-lite, the Qinling v1 API."""
