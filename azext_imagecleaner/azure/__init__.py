"""One module per outside Azure service (ARM, Resource Graph, Log Analytics), with error mapping and redaction."""
