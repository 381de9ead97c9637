"""Customers: reading purchase files, RFM, the BG/NBD and Gamma-Gamma models, figures and annual
KPIs, and the customer records and searches the pages read."""
