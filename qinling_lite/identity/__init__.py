"""Keystone on behalf of function owners: trusts to the service's trustee user."""
