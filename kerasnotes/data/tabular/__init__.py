"""Tabular data: table files (`table_file`), the house-prices table and its preprocessing,
regression tables of numbers, K-fold splits, and minibatch sampling."""
