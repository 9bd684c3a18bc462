"""Conversions between core dataclasses and protobuf wire messages.

Only this package and the `service.py` modules import generated `*_pb2` code.
"""
