"""Tabular data: the house-prices table, its preprocessing, and minibatch sampling."""
