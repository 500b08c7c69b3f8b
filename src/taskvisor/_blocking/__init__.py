"""The blocking API's machinery: its loop thread, the crossing of calls, the facades.

The public names are in `taskvisor.blocking`.
"""
