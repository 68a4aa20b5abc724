import importlib

Migration = importlib.import_module("realtime.migrations.0001_initial").Migration
