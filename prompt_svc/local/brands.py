"""Car brands known to the local analyser, in the lexicon format of `lexicon`."""

from __future__ import annotations

# Shared by the three languages; the gloss is the brand as it is written.
BRANDS: dict[str, str] = {
    "brand": """
        renault | рено = Renault; toyota | тойота = Toyota; bmw | бмв | бемве = BMW
        mercedes benz | mercedes | merc | benz | мерседес* | мерс = Mercedes-Benz
        vinfast | vin fast | вінфаст = VinFast; tesla | тесла | теслу | тесли = Tesla
        honda | хонда | хонду = Honda; hyundai | huyndai | hyndai | хюндаі | хендаі = Hyundai
        хюндай | хендай | хьюндай = Hyundai; kia | кіа = Kia; ford | форд* = Ford
        volkswagen | vw | volkswagon | фольксваген* = Volkswagen; audi | ауді = Audi
        porsche | porshe | порше = Porsche; ferrari | феррарі = Ferrari
        lamborghini | lambo | ламборгіні = Lamborghini; mazda | мазда | мазду | мазди = Mazda
        nissan | ніссан* = Nissan; peugeot | пежо = Peugeot; skoda = Skoda
        lexus | лексус* = Lexus; chevrolet | chevy | шевроле = Chevrolet; volvo | вольво = Volvo
        subaru | субару = Subaru; mitsubishi | міцубісі = Mitsubishi; suzuki | сузукі = Suzuki
        jeep = Jeep; land rover | range rover | ленд ровер = Land Rover; mini cooper = Mini
        fiat | фіат = Fiat; citroen | сітроен = Citroen; opel | опель = Opel; dacia = Dacia
        cupra = Cupra; byd = BYD; geely = Geely; chery = Chery; lada | лада = Lada
        polestar = Polestar; rivian = Rivian; dodge = Dodge; cadillac = Cadillac
        bentley = Bentley; rolls royce = Rolls-Royce; bugatti = Bugatti; maserati = Maserati
        aston martin = Aston Martin; alfa romeo = Alfa Romeo; mclaren = McLaren
        infiniti = Infiniti; acura = Acura; isuzu = Isuzu; daewoo = Daewoo
    """,
}
