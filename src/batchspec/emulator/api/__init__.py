"""HTTP only: the routing table, Shared Key, OData, Batch's wire format, one module per resource."""
