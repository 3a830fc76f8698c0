"""Bulk import (批量导入) of institutions, persons, enrollments, catalogue …, and region loading."""
