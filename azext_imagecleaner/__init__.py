"""The imagecleaner extension: AKS Image Cleaner flags on `az aks create` and `az aks update`.

az loads this module on every call that may reach the extension, so it
imports nothing heavy: commands, arguments and help load on demand.
"""

from azure.cli.core import AzCommandsLoader

EXTENSION_NAME = "imagecleaner"
TESTED_CORE_TEXT = "2.76.0, 2.85.0 and 2.91.0"


class ImageCleanerCommandsLoader(AzCommandsLoader):
    def __init__(self, cli_ctx=None):
        from azure.cli.core.commands import CliCommandType

        custom_type = CliCommandType(operations_tmpl="azext_imagecleaner.aks.handlers#{}")
        super().__init__(cli_ctx=cli_ctx, custom_command_type=custom_type)

    def load_command_table(self, args):
        from azext_imagecleaner.commands import load_command_table

        load_command_table(self, args)
        return self.command_table

    def load_arguments(self, command):
        from azext_imagecleaner._params import load_arguments

        load_arguments(self, command)


COMMAND_LOADER_CLS = ImageCleanerCommandsLoader  # pylint: disable=invalid-name  # the name az looks for
