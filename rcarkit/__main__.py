from rcarkit.cli.app import main

main()
