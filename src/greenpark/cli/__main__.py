from greenpark.cli import main

main()
