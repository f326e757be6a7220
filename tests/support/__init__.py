"""What tests share: servers, fault planters, strategies, small worlds, runs and helpers.

No test module imports another test module: anything two tests need lives here.
"""
