"""Arguments of aks create and aks update: core's, the Image Cleaner ones as aks-preview registers them, and a
preview flag."""


def load_arguments(self, command):
    from azure.cli.command_modules.acs._params import load_arguments as core_arguments
    from azure.cli.command_modules.acs._validators import validate_image_cleaner_enable_disable_mutually_exclusive

    core_arguments(self, command)
    for scope in ("aks create", "aks update"):
        with self.argument_context(scope) as c:
            c.argument("enable_image_cleaner", action="store_true")
            c.argument("image_cleaner_interval_hours", type=int)
            c.argument(
                "enable_imds_restriction",
                action="store_true",
                is_preview=True,
                help="Enable IMDS restriction: pods without host networking cannot reach the IMDS endpoint.",
            )
    with self.argument_context("aks update") as c:
        c.argument(
            "disable_image_cleaner",
            action="store_true",
            validator=validate_image_cleaner_enable_disable_mutually_exclusive,
        )
