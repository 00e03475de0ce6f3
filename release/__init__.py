"""What a release of the extension publishes, and the checks azure-cli-extensions makes on it.

`scripts/release.sh --base-url URL --out DIR` builds the wheel and calls `python -m release`, which writes into DIR
the wheel, an `index.json` in azure-cli-extensions' shape (`az extension add --name` reads one from
`AZURE_EXTENSION_INDEX_URL` or `extension.index_url`) and `SHA256SUMS`, then checks what it wrote
(../shared/az-extension-release.md). Not part of the wheel.
"""
