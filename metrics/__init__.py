"""Statistics, disclosure control and the warehouse: everything between the SQL marts and the pages."""
