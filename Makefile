# Generated protobuf/gRPC code lives only in fs3/_proto/; never edit it by hand.
PYTHON ?= python3

.PHONY: proto proto-check test
proto:
	$(PYTHON) -m grpc_tools.protoc -Iproto --python_out=. --pyi_out=. --grpc_python_out=. proto/fs3/_proto/*.proto
	touch fs3/_proto/__init__.py

proto-check: proto
	git diff --exit-code -- fs3/_proto

test:
	bash deploy/test.sh
