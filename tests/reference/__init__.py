"""Slow, obviously-correct reference implementations (plain Python loops) that the fast code is checked against."""
