"""Monthly SPOC packs (PDF, XLSX, CSV) for every business area and the force; see batch.py."""
