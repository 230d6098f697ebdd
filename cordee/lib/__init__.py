"""Cordée's kernel: what every app needs, written once (as Healthchecks keeps ``hc/lib``)."""
