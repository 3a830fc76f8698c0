"""The national facade (/fsi/api/callService), REST and FHIR routes over the services."""
