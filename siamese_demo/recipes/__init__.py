"""Recipes that rebuild the shipped models from scratch with a fixed seed."""
