DROP TABLE "dthings";
